"""The course's translation catalogs: ``update`` them from the sources, ``compile`` them, ``check`` them.

    python scripts/translations.py update    # extract every message; merge into each language's .po
    python scripts/translations.py compile   # .po -> .mo for the packages' catalogs
    python scripts/translations.py check     # what has no translation, what translates nothing any more

After ``update``, translate the new entries of each ``.po`` (any PO editor, or by hand), then
``compile``. ``make test`` runs the same check (tests/coursegrader/language/test_translations.py). See
scripts/catalogs.py for the domains and where their catalogs live.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("command", choices=["update", "compile", "check"])
    args = parser.parse_args(argv)
    import catalogs as translations  # scripts/catalogs.py, beside this script

    domains = translations.domains(ROOT)
    if args.command == "update":
        for domain in domains:
            for path in translations.update(domain):
                print(f"updated {path.relative_to(ROOT)}")
    elif args.command == "compile":
        for domain in domains:
            for path in translations.compile_catalogs(domain):
                print(f"compiled {path.relative_to(ROOT)}")
    else:
        problems = [problem for domain in domains for problem in translations.check(domain) if problem]
        for problem in problems:
            print(problem.describe())
        if problems:
            return 1
        print(f"every catalog translates every message ({len(domains)} domains)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
