"""Regenerate (or check) the embedded EC-NAS tables in data/ from the reference TFRecords.

    python builders/embed_ecnas.py                       # convert all six into data/, rewrite data/embedded.json
    python builders/embed_ecnas.py --check               # convert into a temporary folder and compare digests
    python builders/embed_ecnas.py --names ecnas-5v --reference-dir ../shared/data/reference

--check fails (exit 1) when a reference file's sha256 differs from the one recorded in data/embedded.json, when
a shipped file's sha256 differs from the manifest, or when a fresh conversion's content digest (sha256 over
every dataset's values) differs from the shipped table's.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from ecnas.embedding import content_digest, convert, embed_all, file_sha256  # noqa: E402
from ecnas.tables import EMBEDDED, MANIFEST_NAME  # noqa: E402


def check(reference_dir: Path, data_dir: Path, names: list[str]) -> int:
    """Compare each shipped table with its manifest entry and a fresh conversion; 1 on any mismatch."""
    manifest = json.loads((data_dir / MANIFEST_NAME).read_text(encoding="utf-8"))["tables"]
    failures = 0
    with tempfile.TemporaryDirectory() as scratch:
        for name in names:
            entry = manifest[name]
            shipped = data_dir / entry["file"]
            problems = []
            if file_sha256(shipped) != entry["sha256"]:
                problems.append(f"{shipped} sha256 differs from the manifest")
            source = reference_dir / entry["source"]["name"]
            if file_sha256(source) != entry["source"]["sha256"]:
                problems.append(f"{source} is not the file the table was converted from (sha256 differs)")
            fresh = convert(name, reference_dir, scratch)
            digest = content_digest(fresh)
            if digest != entry["content_digest"] or digest != content_digest(shipped):
                problems.append("a fresh conversion's content digest differs from the shipped table's")
            status = "OK" if not problems else "FAILED: " + "; ".join(problems)
            print(f"{name:24s} {entry['size_bytes'] / 1024:7.1f} KiB  {digest[:16]}…  {status}")
            failures += bool(problems)
    return 1 if failures else 0


def main() -> int:
    """Parse the command line and regenerate or check."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--reference-dir", type=Path, default=ROOT.parent / "shared" / "data" / "reference")
    parser.add_argument("--out", type=Path, default=ROOT / "data", help="data folder (default: data/)")
    parser.add_argument("--names", nargs="*", default=None, help="embedded tables (default: all EC-NAS ones)")
    parser.add_argument("--check", action="store_true", help="convert afresh and compare with the shipped tables")
    args = parser.parse_args()
    names = args.names or [n for n, t in EMBEDDED.items() if t.source is not None]
    if args.check:
        return check(args.reference_dir, args.out, names)
    for name, entry in embed_all(args.reference_dir, args.out, names).items():
        print(f"{name:24s} {entry['file']:28s} {entry['size_bytes'] / 1024:7.1f} KiB  sha256 {entry['sha256']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
