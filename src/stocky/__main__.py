"""`python -m stocky` runs the CLI."""

from stocky.cli.main import main

if __name__ == "__main__":
    main()
