"""The sentences the chapters say, one module per analysis: each function
takes the chapter's tables and returns its text, with every branch (a fit that
failed its checks, an effect found or not, ...) tested on exact strings in
``tests/test_answers*.py``. Notebooks call them through ``reporting.say``."""
