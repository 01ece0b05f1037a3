"""Keep pytest (and nbval) out of coursework/.

The instructor notebooks hold solutions and hidden tests, the released and submitted ones hold
stubs that raise NotImplementedError on purpose: none of them is a test. They are exercised by
tests/test_coursework.py, in a temporary copy, through nbgrader.
"""

collect_ignore_glob = ["*"]
