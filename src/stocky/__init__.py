"""stocky: one-step-ahead stock-price forecasts with a self-running model lifecycle."""

__version__ = "0.1.0"
