/* The menu and contents buttons work (issue 21).
 *
 * pydata-sphinx-theme 0.17 (pinned with sphinx-book-theme 1.3.0) attaches its "open the sidebar"
 * handler, and sphinx-book-theme its "collapse the sidebar on wide screens" handler, to the FIRST
 * element matching `.primary-toggle` / `.secondary-toggle` only (document.querySelector). That is
 * the hidden button of the top navbar; the buttons a reader sees, in the article header, come later
 * and got no handler, so tapping them did nothing (pydata-sphinx-theme issue #2451; still
 * unreleased upstream as of pydata-sphinx-theme 0.20, so no upgrade fixes it). Here every later
 * button hands its click to that first one, whose handlers then do exactly what the themes intend:
 * open the sidebar as a dialog on a narrow screen, collapse or expand it on a wide one.
 * tests/test_book_navigation.py taps both buttons on every page at 390 px, tests/test_accessibility.py
 * the menu button at 1366 px. */
(function () {
  "use strict";

  function forward(selector) {
    var buttons = document.querySelectorAll(selector);
    var bound = buttons[0];
    Array.prototype.slice.call(buttons, 1).forEach(function (button) {
      button.addEventListener("click", function (event) {
        event.preventDefault();
        event.stopPropagation();
        // The theme returns focus to the element focused at the click when the dialog closes;
        // Safari does not focus a clicked button by itself.
        button.focus();
        bound.click();
      });
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    forward(".primary-toggle");
    forward(".secondary-toggle");
  });
})();
