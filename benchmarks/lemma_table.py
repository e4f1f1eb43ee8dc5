"""Write knowledge/data/lemmas.tsv: the irregular forms' lemmas, from lemminflect.

    pip install -e ".[test]"                     # lemminflect
    python benchmarks/lemma_table.py             # write the table
    python benchmarks/lemma_table.py --check     # say whether the shipped table is current

knowledge.text lemmatises a word only when lemminflect's dictionary gives it exactly one
reading with one lemma ("won" -> "win", "children" -> "child"; "left" stays). That rule,
applied to every lower-case form lemminflect knows, gives about 29,000 forms whose lemma
differs; the table lists them, one "form<TAB>lemma" a line, sorted. Loaded, it is a few
megabytes where lemminflect's own tables are 32 MB in every process that tokenises (each
search worker), and a fifth of a second to load. Deterministic for a lemminflect version;
tests/knowledge/test_lemmas.py checks the shipped table against the installed lemminflect.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
TABLE = REPO / "knowledge" / "data" / "lemmas.tsv"


def lemminflect_lemma(folded: str) -> str:
    """knowledge.text's rule, with lemminflect: the word's only lemma, or the word."""
    import lemminflect

    lemmas = lemminflect.getAllLemmas(folded)
    if len(lemmas) != 1:
        return folded
    (forms,) = lemmas.values()
    return forms[0] if len(forms) == 1 else folded


def lemma_table() -> dict[str, str]:
    """Every form lemminflect can look up (its dictionaries' lower-case ASCII words) whose
    lemma under the rule differs from it. Any other word keeps its form: lemminflect's
    look-up lower-cases the word, so only lower-case entries can ever be found."""
    from lemminflect.core.Lemmatizer import Lemmatizer

    lemmatizer = Lemmatizer()
    known = set(lemmatizer._getLemmaDict()) | set(lemmatizer._getOverridesDict())
    forms = sorted(w for w in known if w.isascii() and w.isalpha() and w == w.lower())
    table = {form: lemminflect_lemma(form) for form in forms}
    return {form: lemma for form, lemma in table.items() if lemma != form}


def table_text(table: dict[str, str]) -> str:
    return "".join(f"{form}\t{lemma}\n" for form, lemma in sorted(table.items()))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="compare, write nothing")
    args = parser.parse_args()
    text = table_text(lemma_table())
    if args.check:
        current = TABLE.read_text(encoding="utf-8") == text
        print(f"{TABLE} is {'current' if current else 'out of date'}")
        return 0 if current else 1
    TABLE.write_text(text, encoding="utf-8")
    print(f"wrote {TABLE}: {text.count(chr(10)):,} forms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
