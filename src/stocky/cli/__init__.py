"""The `stocky` command line: cli/main.py assembles one module per command."""
