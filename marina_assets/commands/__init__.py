"""Sub-commands of `marina-etl`, one module each with `register(subparsers)`."""
