"""``python -m convcli``."""
import sys

from .cli import main

if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:  # pragma: no cover - Ctrl-C outside the command body
        sys.stderr.write("convcli: error: interrupted\n")
        sys.exit(130)
