"""The ``regulars`` console command: every Django management command, under one name.

``regulars serve``, ``regulars worker``, ``regulars demo``, ``regulars token create`` ... are
management commands of the Regulars apps; ``regulars`` just points Django at our settings.
"""

from __future__ import annotations

import os
import sys


def main(argv: list[str] | None = None) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    from django.core.management import execute_from_command_line

    args = sys.argv[1:] if argv is None else argv
    execute_from_command_line(["regulars", *args])


if __name__ == "__main__":
    main()
