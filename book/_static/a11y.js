/* Accessibility fixes for the theme's widgets and for wide maths (issue 13).
 * Each block names the axe-core rule it answers; tests/test_accessibility.py checks the result. */
(function () {
  "use strict";

  function names() {
    // label-content-name-mismatch: the search field shows "Search Ctrl+K" but was named "Search";
    // without the aria-label its name is the visible text. (Icon-only search buttons keep theirs.)
    document.querySelectorAll(".search-button__button[aria-label]").forEach(function (b) {
      if (b.textContent.trim()) b.removeAttribute("aria-label");
    });
    // label-content-name-mismatch: MyST-NB names the summary of a folded cell (tag hide-input,
    // issue 21) "Toggle hidden content" while it shows "Show code cell source"; without the
    // aria-label its name is the visible text.
    document.querySelectorAll("details.hide > summary[aria-label]").forEach(function (s) {
      if (s.textContent.trim()) s.removeAttribute("aria-label");
    });
    // label-content-name-mismatch: the colour-mode button is named "Color mode", but its icons
    // carried the titles "Light", "Dark", "System Settings" as text. The icons are decoration.
    document.querySelectorAll(".theme-switch-button .theme-switch").forEach(function (icon) {
      icon.setAttribute("aria-hidden", "true");
      icon.removeAttribute("title");
      icon.querySelectorAll("title").forEach(function (t) { t.remove(); });
    });
  }

  function scrollableMaths() {
    // scrollable-region-focusable: a display equation wider than the column scrolls in its own
    // box (legible.css); keyboard users must be able to focus it to scroll it, as the theme
    // does for code blocks.
    document.querySelectorAll('mjx-container[display="true"]').forEach(scrollableMath);
  }

  function scrollableMath(m) {
    var wide = m.scrollWidth > m.clientWidth + 1;
    if (wide) {
      m.tabIndex = 0;
      if (!m.hasAttribute("aria-label") && !m.hasAttribute("role")) m.setAttribute("role", "group");
    } else if (m.tabIndex === 0) {
      m.removeAttribute("tabindex");
    }
    scrollCue(m);
    if (!m.dataset.scrollCue) {
      m.dataset.scrollCue = "1";
      m.addEventListener("scroll", function () { scrollCue(m); }, {passive: true});
      // An equation in a closed solution has no width until it is opened.
      if (window.ResizeObserver) new ResizeObserver(function () { scrollableMath(m); }).observe(m);
    }
  }

  // Issue 21: a wide equation shows that it scrolls. legible.css draws a shadow on each side where
  // the line goes on; nothing at all when the equation fits.
  function scrollCue(m) {
    var rest = m.scrollWidth - m.clientWidth - m.scrollLeft;
    m.classList.toggle("math-more-right", rest > 1);
    m.classList.toggle("math-more-left", m.scrollLeft > 1);
  }

  function later() {
    if (window.MathJax && MathJax.startup && MathJax.startup.promise) {
      MathJax.startup.promise.then(scrollableMaths);
    } else {
      scrollableMaths();
    }
  }

  document.addEventListener("DOMContentLoaded", function () {
    names();
    // Font Awesome swaps the <i> icons for <svg>s after this point: fix those too.
    new MutationObserver(names).observe(document.querySelector("header") || document.body,
                                        {subtree: true, childList: true});
  });
  window.addEventListener("load", later);
  var timer = null;
  window.addEventListener("resize", function () {
    clearTimeout(timer);
    timer = setTimeout(scrollableMaths, 300);
  });
})();
