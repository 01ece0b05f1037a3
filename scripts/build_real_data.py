"""Rebuild the real data set of book chapter 10 from Debian's WordNet, byte for byte.

    python scripts/build_real_data.py                 # rewrite the shipped files
    python scripts/build_real_data.py --out DIR       # write them into DIR instead

Needs Debian's ``wordnet-base`` package (``apt-get install wordnet-base``),
which installs Princeton WordNet 3.0 under ``/usr/share/wordnet``; nothing
else (no network). The script checks the SHA-256 of every source file it
reads against the values below and refuses to build from different files,
so the output is the same on every machine: an uncompressed ``.npz`` (zip,
fixed timestamps, fixed array order) and a JSON metadata file.

What it builds (all choices are ours, see book chapter 10):

* A *corpus* of short documents, one per WordNet synset (all parts of
  speech, 117,659 synsets): the synset's single-word lemmas plus the tokens
  of its gloss (definition and example sentences). Tokens are lower-cased
  words. Stop words (``STOP_WORDS``: function words, including the verb
  forms "was", "has", "does", ..., and WordNet's gloss boilerplate) are
  dropped FIRST, before any stripping: stripped first, "was" became the
  noun "wa", "has" "ha" and "does" "doe". Then a plural whose singular is a
  WordNet noun is mapped to it (the noun exception list plus the usual
  suffix rules; never to a stop word, so "uses" becomes "use", not "us");
  one-letter tokens are dropped; each document is a set of tokens.
* *Target words* (the items): single-word nouns all of whose noun senses
  lie in ONE of the chosen lexicographer files (``CATEGORIES``), with more
  noun senses than verb/adjective/adverb senses, at least three letters,
  not a plural of another noun, occurring in at least ``MIN_DOC_FREQ``
  documents; per category the ``MAX_PER_CATEGORY`` most frequent (ties
  alphabetical). Their category is the ground-truth cluster.
* *Context words* (the rows): the ``N_CONTEXTS`` most frequent tokens
  (ties alphabetical) with at least ``MIN_DOC_FREQ`` documents.
* ``X[c, w]``: the number of documents that contain both context word c and
  target word w (a word does not co-occur with itself).
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import re
import subprocess
import sys
import zipfile
from collections import Counter, defaultdict
from pathlib import Path

import numpy as np
import scipy.sparse as sp

ROOT = Path(__file__).resolve().parents[1]
OUT_DIR = ROOT / "cosim_helpers" / "_data"
STEM = "wordnet_glosses"
WORDNET = Path("/usr/share/wordnet")

# The Debian package and the exact files the shipped data were built from.
SOURCE_PACKAGE = "wordnet-base"
SOURCE_VERSION = "1:3.0-37"
SOURCE_FILES = {
    "data.noun": "fea17d2f9656611334eac790e5d69e47645fa180c4aa481fb4cd9b3520754ca2",
    "data.verb": "adcf43e35b581e8036d8b5a52d63d9cd3d3b4870b2720d3c03c799df44777bc2",
    "data.adj": "c89120dfc1f046ddff4a631bf9b7e9fa1a36b5e86565a23bf82dbe14f30b88a7",
    "data.adv": "444a63bf3955080ab7524f5079cfc07ff9bc682cb98bdb1db73b0fb9829f1139",
    "noun.exc": "2b5d675c380b39ecf595af9fa9d4e7feb1d58c643b0bff08c40ed5bfe41fab7a",
}

# Lexicographer files used as clusters: number -> name (lexnames(5WN)).
CATEGORIES = {
    5: "noun.animal",
    20: "noun.plant",
    13: "noun.food",
    8: "noun.body",
    18: "noun.person",
    15: "noun.location",
    27: "noun.substance",
    6: "noun.artifact",
}
MAX_PER_CATEGORY = 300
MIN_DOC_FREQ = 5
N_CONTEXTS = 6000

# Our stop words: function words and WordNet's gloss boilerplate. They are
# dropped before plurals are stripped (see tokens()); the auxiliary verb forms
# (do/does/did/done, had, will/would, shall/should, can/could, may/might, must,
# am) and "us" are in the list because, as raw tokens, they are function words
# in glosses, and several of them strip to nouns ("does" -> "doe").
STOP_WORDS = frozenset((
    "a", "about", "also", "am", "an", "and", "any", "are", "as", "at", "be", "been", "being",
    "between", "but", "by", "can", "could", "did", "do", "does", "doing", "done", "e", "etc", "for",
    "from", "g", "had", "has", "have", "having", "he", "her", "his", "i", "in", "into", "is", "it",
    "its", "may", "me", "might", "more", "most", "must", "no", "not", "of", "often", "on", "one", "or",
    "other", "out", "over", "s", "shall", "she", "should", "some", "such", "than", "that", "the",
    "their", "them", "these", "they", "this", "those", "to", "under", "up", "us", "used", "usually",
    "very", "was", "were", "which", "who", "whom", "whose", "will", "with", "would",
))

# The licence of WordNet 3.0, which must accompany every copy (also in the JSON).
LICENCE = """\
This software and database is being provided to you, the LICENSEE, by
Princeton University under the following license.  By obtaining, using
and/or copying this software and database, you agree that you have
read, understood, and will comply with these terms and conditions.:

Permission to use, copy, modify and distribute this software and
database and its documentation for any purpose and without fee or
royalty is hereby granted, provided that you agree to comply with
the following copyright notice and statements, including the disclaimer,
and that the same appear on ALL copies of the software, database and
documentation, including modifications that you make for internal
use or for distribution.

WordNet 3.0 Copyright 2006 by Princeton University.  All rights reserved.

THIS SOFTWARE AND DATABASE IS PROVIDED "AS IS" AND PRINCETON
UNIVERSITY MAKES NO REPRESENTATIONS OR WARRANTIES, EXPRESS OR
IMPLIED.  BY WAY OF EXAMPLE, BUT NOT LIMITATION, PRINCETON
UNIVERSITY MAKES NO REPRESENTATIONS OR WARRANTIES OF MERCHANT-
ABILITY OR FITNESS FOR ANY PARTICULAR PURPOSE OR THAT THE USE
OF THE LICENSED SOFTWARE, DATABASE OR DOCUMENTATION WILL NOT
INFRINGE ANY THIRD PARTY PATENTS, COPYRIGHTS, TRADEMARKS OR
OTHER RIGHTS.

The name of Princeton University or Princeton may not be used in
advertising or publicity pertaining to distribution of the software
and/or database.  Title to copyright in this software, database and
any associated documentation shall at all times remain with
Princeton University and LICENSEE agrees to preserve same.
"""

POS_FILES = ("data.noun", "data.verb", "data.adj", "data.adv")
TOKEN = re.compile(r"[a-z]+(?:['-][a-z]+)*")
PLURAL_RULES = (("ses", "s"), ("xes", "x"), ("zes", "z"), ("ches", "ch"), ("shes", "sh"),
                ("men", "man"), ("ies", "y"), ("s", ""))


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def check_sources(wordnet: Path) -> None:
    """Refuse to build from anything but the exact files the shipped data came from."""
    for name, expected in SOURCE_FILES.items():
        path = wordnet / name
        if not path.is_file():
            sys.exit(f"{path} not found: install Debian's {SOURCE_PACKAGE} package "
                     f"(apt-get install {SOURCE_PACKAGE})")
        if sha256(path) != expected:
            sys.exit(f"{path} differs from {SOURCE_PACKAGE} {SOURCE_VERSION} (SHA-256 mismatch): "
                     "the result would not reproduce the shipped file")


def read_synsets(wordnet: Path):
    """Yield ``(pos_file, lex_filenum, lemmas, gloss)`` for every synset (wndb(5WN) format)."""
    for name in POS_FILES:
        with open(wordnet / name, encoding="utf-8") as fh:
            for line in fh:
                if line.startswith("  "):  # the licence header
                    continue
                head, _, gloss = line.partition(" | ")
                fields = head.split()
                n_words = int(fields[3], 16)
                lemmas = [re.sub(r"\(.*\)$", "", fields[4 + 2 * i]).lower() for i in range(n_words)]
                yield name, int(fields[1]), lemmas, gloss.strip()


def singular(token: str, nouns, exceptions: dict) -> str:
    """The singular noun of a plural ``token``, else ``token`` itself.

    WordNet's noun exception list first, then the first suffix rule of
    ``PLURAL_RULES`` whose result is a noun (a key of ``nouns``) and not a
    stop word ("uses": "us" is a stop word, so "use").
    """
    if token in exceptions:
        return exceptions[token]
    for suffix, repl in PLURAL_RULES:
        if token.endswith(suffix):
            base = token[: -len(suffix)] + repl
            if base in nouns and base not in STOP_WORDS:
                return base
    return token


def tokens(gloss: str, lemmas, all_lemmas, nouns, exceptions: dict) -> list:
    """The sorted token set of one synset document (see the module docstring).

    Stop words are dropped before any stripping, so a function word can never
    turn into a noun ("was" -> "wa"); a token that is a WordNet lemma as it
    stands is kept as it is; any other token is mapped to its singular noun.
    """
    words = (t for t in TOKEN.findall(gloss.lower()) if t not in STOP_WORDS)
    out = {t if t in all_lemmas else singular(t, nouns, exceptions) for t in words}
    out |= {lemma for lemma in lemmas if TOKEN.fullmatch(lemma)}
    return sorted(t for t in out if len(t) > 1 and t not in STOP_WORDS)


def build(wordnet: Path):
    synsets = list(read_synsets(wordnet))
    noun_lexfiles = defaultdict(set)
    noun_senses, other_senses = Counter(), Counter()
    for pos, lex, lemmas, _ in synsets:
        for lemma in lemmas:
            if pos == "data.noun":
                noun_lexfiles[lemma].add(lex)
                noun_senses[lemma] += 1
            else:
                other_senses[lemma] += 1
    all_lemmas = set(noun_senses) | set(other_senses)
    exceptions = {}
    with open(wordnet / "noun.exc", encoding="utf-8") as fh:
        for line in fh:
            inflected, base = line.split()[:2]
            exceptions[inflected] = base

    def noun_base(token):
        return singular(token, noun_lexfiles, exceptions)

    documents = [tokens(gloss, lemmas, all_lemmas, noun_lexfiles, exceptions)
                 for _, _, lemmas, gloss in synsets]
    doc_freq = Counter(t for doc in documents for t in doc)

    by_category = defaultdict(list)
    for lemma, lexfiles in noun_lexfiles.items():
        if (len(lexfiles) == 1 and re.fullmatch(r"[a-z]{3,}", lemma) and lemma not in STOP_WORDS
                and noun_base(lemma) == lemma and noun_senses[lemma] > other_senses[lemma]
                and doc_freq[lemma] >= MIN_DOC_FREQ):
            lex = next(iter(lexfiles))
            if lex in CATEGORIES:
                by_category[lex].append(lemma)
    targets, labels = [], []
    for label, lex in enumerate(CATEGORIES):
        chosen = sorted(by_category[lex], key=lambda w: (-doc_freq[w], w))[:MAX_PER_CATEGORY]
        targets += chosen
        labels += [label] * len(chosen)
    frequent = sorted((t for t, f in doc_freq.items() if f >= MIN_DOC_FREQ), key=lambda t: (-doc_freq[t], t))
    contexts = frequent[:N_CONTEXTS]

    # Document incidence matrices, then counts = Dcᵀ Dt (documents with both words).
    t_index = {w: i for i, w in enumerate(targets)}
    c_index = {w: i for i, w in enumerate(contexts)}

    def incidence(index):
        rows, cols = [], []
        for d, doc in enumerate(documents):
            for t in doc:
                if t in index:
                    rows.append(d)
                    cols.append(index[t])
        data = np.ones(len(rows), dtype=np.int64)
        return sp.csc_matrix((data, (rows, cols)), shape=(len(documents), len(index)))

    counts = (incidence(c_index).T @ incidence(t_index)).tocsc()
    for j, w in enumerate(targets):  # a word does not co-occur with itself
        if w in c_index:
            counts[c_index[w], j] = 0
    counts.eliminate_zeros()
    counts.sort_indices()
    return counts, targets, contexts, np.array(labels), len(documents)


def npy_bytes(array: np.ndarray) -> bytes:
    buf = io.BytesIO()
    np.lib.format.write_array(buf, np.ascontiguousarray(array), version=(1, 0), allow_pickle=False)
    return buf.getvalue()


def write_npz(path: Path, arrays: dict) -> None:
    """An ``np.load``-able ``.npz`` with no timestamps and no compression: identical bytes everywhere."""
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_STORED) as zf:
        for name in sorted(arrays):
            info = zipfile.ZipInfo(name + ".npy", date_time=(1980, 1, 1, 0, 0, 0))
            info.external_attr = 0o644 << 16
            zf.writestr(info, npy_bytes(arrays[name]))


def words_to_bytes(words) -> np.ndarray:
    return np.frombuffer("\n".join(words).encode("ascii"), dtype=np.uint8)


def installed_version() -> str | None:
    try:
        out = subprocess.run(["dpkg-query", "-W", "-f=${Version}", SOURCE_PACKAGE],
                             capture_output=True, text=True, check=True)
    except (OSError, subprocess.CalledProcessError):
        return None
    return out.stdout.strip()


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=OUT_DIR, help=f"output folder (default {OUT_DIR})")
    parser.add_argument("--wordnet", type=Path, default=WORDNET, help="WordNet dict folder")
    args = parser.parse_args(argv)
    check_sources(args.wordnet)
    version = installed_version()
    if version is not None and version != SOURCE_VERSION:
        print(f"note: {SOURCE_PACKAGE} {version} is installed; its files match {SOURCE_VERSION} (checked)")

    counts, targets, contexts, labels, n_documents = build(args.wordnet)
    if counts.data.max() >= 2**16 or len(contexts) >= 2**16:
        raise AssertionError("counts or context indices do not fit the uint16 storage")
    arrays = {
        "counts_data": counts.data.astype(np.uint16),
        "counts_indices": counts.indices.astype(np.uint16),
        "counts_indptr": counts.indptr.astype(np.int32),
        "labels": labels.astype(np.int8),
        "target_words": words_to_bytes(targets),
        "context_words": words_to_bytes(contexts),
        "categories": words_to_bytes(CATEGORIES.values()),
        "licence": words_to_bytes(LICENCE.splitlines()),  # travels with the data, as the licence asks
    }
    args.out.mkdir(parents=True, exist_ok=True)
    npz = args.out / f"{STEM}.npz"
    write_npz(npz, arrays)
    meta = {
        "name": "WordNet gloss co-occurrence counts (book chapter 10)",
        "description": (
            "X[c, w] = number of WordNet 3.0 synset documents (single-word lemmas + gloss tokens) that "
            "contain both context word c (row) and target noun w (column); labels = the target's "
            "lexicographer file. Stored column-compressed: counts_data, counts_indices (rows), "
            "counts_indptr; word lists are newline-separated ASCII."
        ),
        "shape": [len(contexts), len(targets)],
        "nnz": int(counts.nnz),
        "n_documents": n_documents,
        "categories": list(CATEGORIES.values()),
        "words_per_category": np.bincount(labels, minlength=len(CATEGORIES)).tolist(),
        "parameters": {
            "max_per_category": MAX_PER_CATEGORY,
            "min_doc_freq": MIN_DOC_FREQ,
            "n_contexts": N_CONTEXTS,
            "stop_words": sorted(STOP_WORDS),
        },
        "source": {
            "debian_package": SOURCE_PACKAGE,
            "debian_version": SOURCE_VERSION,
            "upstream": "Princeton WordNet 3.0, https://wordnet.princeton.edu/",
            "files_sha256": SOURCE_FILES,
        },
        "licence": {"name": "WordNet 3.0 license", "text": LICENCE},
        "rebuild": "python scripts/build_real_data.py (needs Debian's wordnet-base; no network)",
        "npz_file": npz.name,
        "npz_sha256": sha256(npz),
    }
    (args.out / f"{STEM}.json").write_text(json.dumps(meta, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    print(f"wrote {npz} ({npz.stat().st_size:,} bytes, sha256 {meta['npz_sha256']}) and its metadata")
    print(f"X: {len(contexts)} contexts x {len(targets)} target nouns, {counts.nnz:,} non-zeros; "
          f"words per category {meta['words_per_category']}")


if __name__ == "__main__":
    main()
