"""The command line's exit codes."""

EXIT_OK = 0
EXIT_REJECTED = 1  # `status` found a rejected file.
EXIT_ERROR = 2
