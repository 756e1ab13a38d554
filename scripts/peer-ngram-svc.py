#!/usr/bin/env python3
"""
The peer the intent model is measured against: scikit-learn's TF-IDF over word 1-2-grams
and character 2-5-grams (within word boundaries), into a LinearSVC, trained on the same
corpus (src/nlu/corpus/train.tsv) and evaluated on the same sets as `acuerdo nlu eval`.

Needs scikit-learn (Debian: apt-get install python3-sklearn, then /usr/bin/python3).
Run with `npm run peer:nlu`, which prints its figures next to the local pipeline's.

  /usr/bin/python3 scripts/peer-ngram-svc.py [--json] [FILE.tsv ...]
"""
import json
import sys
import unicodedata
from pathlib import Path

from sklearn.pipeline import FeatureUnion, make_pipeline
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.svm import LinearSVC

ROOT = Path(__file__).resolve().parent.parent
TRAIN = ROOT / "src" / "nlu" / "corpus" / "train.tsv"
DEFAULT_SETS = [
    ROOT / "src" / "nlu" / "corpus" / "heldout.tsv",
    ROOT / "test" / "fixtures" / "nlu" / "blind-eval.tsv",
    ROOT / "test" / "fixtures" / "nlu" / "stress-eval.tsv",
]


def read_tsv(path):
    rows = []
    for i, line in enumerate(Path(path).read_text(encoding="utf-8").splitlines()):
        line = line.lstrip("\ufeff")
        if not line.strip() or line.startswith("#"):
            continue
        text, _, intent = line.rpartition("\t")
        if i == 0 and text.strip().lower() == "text" and intent.strip().lower() == "intent":
            continue
        rows.append((text, intent.strip()))
    return rows


def fold(text):
    """Lowercase without accents, as the local pipeline sees text."""
    text = unicodedata.normalize("NFKD", text.lower())
    return "".join(c for c in text if not unicodedata.combining(c))


def main(argv):
    as_json = "--json" in argv
    files = [a for a in argv if not a.startswith("--")] or [str(p) for p in DEFAULT_SETS]
    train = read_tsv(TRAIN)
    model = make_pipeline(
        FeatureUnion([
            ("word", TfidfVectorizer(preprocessor=fold, analyzer="word", ngram_range=(1, 2), sublinear_tf=True, token_pattern=r"(?u)\b\w+\b")),
            ("char", TfidfVectorizer(preprocessor=fold, analyzer="char_wb", ngram_range=(2, 5), sublinear_tf=True)),
        ]),
        LinearSVC(C=1.0),
    )
    model.fit([t for t, _ in train], [i for _, i in train])
    results = []
    for f in files:
        rows = read_tsv(f)
        predicted = model.predict([t for t, _ in rows])
        correct = sum(1 for (_, want), got in zip(rows, predicted) if want == got)
        results.append({"file": str(Path(f).resolve().relative_to(ROOT)) if Path(f).resolve().is_relative_to(ROOT) else f,
                        "n": len(rows), "accuracy": round(correct / max(1, len(rows)), 4)})
    if as_json:
        print(json.dumps({"peer": "tfidf-word1-2+char_wb2-5-linearsvc", "trainedOn": len(train), "results": results}))
    else:
        for r in results:
            print(f"{r['file']}: {r['n']} messages, accuracy {r['accuracy']:.4f}")


if __name__ == "__main__":
    main(sys.argv[1:])
