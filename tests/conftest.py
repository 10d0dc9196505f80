"""Root test configuration (the project root is on sys.path through pytest's ``pythonpath``)."""
