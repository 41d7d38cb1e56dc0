"""ICD-10-CM linking: an indication name (and its aliases) -> the ICD-10-CM codes to store.

A character n-gram TF-IDF nearest-neighbour index over the code descriptions and inclusion terms shipped
by `simple-icd-10-cm`: every category and subcategory (chapters and blocks are ranges, not codes), less
by default the 7th-character extensions (M80.08XA "..., initial encounter for fracture"), whose parent
is indexed and always the better answer for a condition name. A query is normalised like the
descriptions (plus the spelling and synonym DATA of `models/icd10/synonyms.json`), vectorised with the
same vocabulary and idf, and scored by cosine similarity (a sparse dot product: rows are L2-normalised).
Among near-ties the most general code wins: each level below the 3-character category costs
`depth_penalty`, so "Systemic lupus erythematosus" gives M32, not M32.9 or M32.19.

`decide` (and `link_codes`, which the extractor calls) first looks the name, then its aliases, up in the
corpus lexicon `models/icd10/corpus.json`: the names and aliases of the train + dev gold indications with
their hand-checked codes (or none, when the gold says no single code is sure). Otherwise it takes the
nearest description and gives it a calibrated confidence, P(the code is right), from a logistic model of
the match (`confidence` in `models/icd10/linker.json`: score, margin over the best other category,
share of the query's words the description has, ...). A code is stored only when its confidence reaches
`min_confidence` (both tuned on train + dev gold only): no code is better than a wrong one.

The index takes ~8 CPU-seconds to build, so it is built lazily on first use and cached on disk in plain
formats (`scipy.sparse.save_npz` for the matrix, JSON for the vocabulary, idf, codes and parameters),
keyed by the simple-icd-10-cm version and INDEX_VERSION; loading the cache takes well under a second.
Nothing is pickled.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import importlib.util
import json
import logging
import os
import re
import tempfile
import threading
import unicodedata
import warnings
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
import scipy.sparse as sp

from pipeline import settings
from pipeline.extract.indications import is_condition_like
from pipeline.extract.lexicon import load_lexicon
from pipeline.paths import ICD10_DIR

log = logging.getLogger(__name__)

# Bump when the rows, their text or the file layout change: old caches are then ignored (and pruned).
INDEX_VERSION = "icd10_tfidf.v2"  # v2: row texts in the metadata (word coverage of a match)
MODEL_DIR = ICD10_DIR
CONFIG_PATH = MODEL_DIR / "linker.json"
SYNONYMS_PATH = MODEL_DIR / "synonyms.json"
CACHE_PREFIX = "icd10-index-"
LINK_BATCH = 32  # conditions linked per sparse product: bounds its dense similarities (70k floats a query) to tens of MB

# Row kinds: the official description, a variant of it without bracketed or "unspecified"/"NOS"
# qualifiers, an inclusion term (another name the classification files under the code), one half of a
# "Syncope and collapse" description (the code covers each of the two conditions).
DESCRIPTION, VARIANT, INCLUSION, PART = 0, 1, 2, 3

Link = tuple[str, str, float]  # (code with dot, official description, score)

CORPUS_PATH = MODEL_DIR / "corpus.json"
# Features of a nearest-description match, in the order of the confidence model's weights.
# condition_like: the name is worded as a condition (the extractor's condition heads and suffixes); a purpose,
# procedure, device or population ("cardiac pacemaker", "women") has a nearest description, rarely its code.
CONFIDENCE_FEATURES = ("score", "margin", "word_coverage", "single_word", "from_alias", "condition_like")
_CODE = re.compile(r"[A-Z][0-9][0-9A-Z](?:\.[0-9A-Z]{1,4})?")
_STOPWORDS = frozenset("a an and as at by for from in into of on or the to with without due other".split())


class ICD10DataError(ValueError):
    """A data file of the linker (synonyms, config, gold list) is malformed."""


# --- text normalisation: shared by the index rows and the queries ------------------------------------

_QUOTES = str.maketrans({"\u2019": "'", "\u2018": "'", "\u00b4": "'", "`": "'"})
_POSSESSIVE = re.compile(r"(?<=[a-z])'s\b")
_VERSUS = re.compile(r"\bvs\b\.?")
_NON_ALNUM = re.compile(r"[^a-z0-9]+")
_BRACKETED = re.compile(r"\s*[\(\[][^\)\]]*[\)\]]")
# Qualifiers that say "nothing more specific": a variant without them lets a category tie with its
# ", unspecified" child, and the depth penalty then picks the category.
_UNSPECIFIED = re.compile(r",?\s*\b(?:unspecified|not elsewhere classified|NOS)\b\s*$", re.IGNORECASE)
# "Other osteoporosis without current pathological fracture": in ICD-10-CM the "without" code is the one
# for a condition named with nothing more, so the name alone should reach it.
_WITHOUT = re.compile(r"\s+without\b[^,]*")
# Only "Word and word": longer coordinations are mostly adjectives ("Abdominal and pelvic pain").
_WORD_AND_WORD = re.compile(r"([A-Za-z'-]+) and ([A-Za-z'-]+)")


def normalize_text(text: str) -> str:
    """Lower-case ASCII words separated by single spaces: 'Sjögren's vs. Behçet' -> 'sjogren versus behcet'.

    Possessives go ("Raynaud's" and "Raynaud" must meet), hyphens and slashes become spaces
    ("graft-versus-host" meets "graft versus host").
    """
    text = unicodedata.normalize("NFKD", text.translate(_QUOTES))
    text = text.encode("ascii", "ignore").decode("ascii").lower()
    text = _POSSESSIVE.sub("", text)
    text = _VERSUS.sub("versus", text)
    return _NON_ALNUM.sub(" ", text).strip()


def description_variants(description: str) -> list[str]:
    """The description without bracketed asides, trailing "unspecified"/"NOS", and "without ..." clauses.

    "Systemic sclerosis [scleroderma]" -> ["Systemic sclerosis"];
    "Anal fissure, unspecified" -> ["Anal fissure"];
    "Other osteoporosis without current pathological fracture" -> ["Other osteoporosis"].
    """
    plain = _UNSPECIFIED.sub("", _BRACKETED.sub("", description).strip()).strip(" ,")
    shorter = _UNSPECIFIED.sub("", _WITHOUT.sub("", plain)).strip(" ,")
    return [v for v in dict.fromkeys([plain, shorter]) if v and v != description]


def description_parts(description: str) -> list[str]:
    """The two conditions of a "Syncope and collapse" description, else nothing."""
    match = _WORD_AND_WORD.fullmatch(description)
    return [match.group(1), match.group(2)] if match else []


def code_depth(code: str) -> int:
    """0 for a 3-character category, +1 per further character (M32 -> 0, M32.19 -> 2, M80.08XA -> 4)."""
    return max(0, len(code.replace(".", "")) - 3)


# --- data files ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Synonyms:
    """Query rewrites, as data: spellings (substrings), phrases (whole words), patterns, words to drop."""

    spellings: tuple[tuple[str, str], ...]
    phrases: tuple[tuple[str, str], ...]
    patterns: tuple[tuple[re.Pattern, str], ...]
    drop: tuple[str, ...]

    def rewrite(self, normalized: str) -> str:
        """Apply spellings, phrase synonyms, then patterns, and drop the non-clinical qualifiers."""
        text = f" {normalized} "
        for old, new in self.spellings:
            text = text.replace(old, new)
        for old, new in self.phrases:
            text = text.replace(f" {old} ", f" {new} ")
        text = " ".join(text.split())
        for pattern, replacement in self.patterns:
            text = pattern.sub(replacement, text)
        text = f" {text} "
        for word in self.drop:
            text = text.replace(f" {word} ", " ")
        return " ".join(text.split())


def _string_map(data: dict, key: str, path: Path) -> tuple[tuple[str, str], ...]:
    mapping = data.get(key)
    if not isinstance(mapping, dict):
        raise ICD10DataError(f"{path}: '{key}' must be an object of string -> string")
    out = []
    for old, new in mapping.items():
        if not isinstance(new, str) or not old.strip() or not new.strip():
            raise ICD10DataError(f"{path}: {key}[{old!r}] must map a non-empty string to a non-empty string")
        if key == "phrases" and (normalize_text(old) != old or normalize_text(new) != new):
            # A phrase is matched on normalised text: one written otherwise could never match.
            raise ICD10DataError(
                f"{path}: phrases[{old!r}] -> {new!r} must be normalised text "
                f"(expected {normalize_text(old)!r} -> {normalize_text(new)!r})"
            )
        if key == "spellings" and (old != old.lower() or not old.replace(" ", "").isalnum()):
            raise ICD10DataError(f"{path}: spellings[{old!r}] must be lower-case letters")
        out.append((old, new))
    return tuple(out)  # applied in file order: a later entry may rely on an earlier rewrite


def load_synonyms(path: Path | str = SYNONYMS_PATH) -> Synonyms:
    """Read and validate the synonym data file; a malformed file raises ICD10DataError naming the entry."""
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise ICD10DataError(f"{path}: cannot read synonym data: {exc}") from exc
    if not isinstance(data, dict):
        raise ICD10DataError(f"{path}: expected a JSON object with 'spellings', 'phrases' and 'drop'")
    unknown = set(data) - {"about", "version", "spellings", "phrases", "patterns", "drop"}
    if unknown:
        raise ICD10DataError(f"{path}: unknown keys {sorted(unknown)}")
    drop = data.get("drop", [])
    if not isinstance(drop, list) or not all(isinstance(w, str) and w and normalize_text(w) == w for w in drop):
        raise ICD10DataError(f"{path}: 'drop' must be a list of normalised words or phrases")
    return Synonyms(
        _string_map(data, "spellings", path),
        _string_map(data, "phrases", path),
        _patterns(data.get("patterns", []), path),
        tuple(drop),
    )


def _patterns(items, path: Path) -> tuple[tuple[re.Pattern, str], ...]:
    """[[regex, replacement], ...]: each regex must compile and its replacement refer only to its groups."""
    if not isinstance(items, list):
        raise ICD10DataError(f"{path}: 'patterns' must be a list of [regex, replacement] pairs")
    out = []
    for item in items:
        if not (isinstance(item, list) and len(item) == 2 and all(isinstance(x, str) and x for x in item)):
            raise ICD10DataError(f"{path}: patterns entry {item!r} must be [regex, replacement]")
        try:
            pattern = re.compile(item[0])
            refs = [int(n) for n in re.findall(r"\\(\d+)", item[1])]
        except re.error as exc:
            raise ICD10DataError(f"{path}: patterns entry {item[0]!r} is not a valid regex: {exc}") from exc
        if any(n > pattern.groups or n == 0 for n in refs):
            raise ICD10DataError(f"{path}: patterns entry {item!r} refers to a group the regex does not have")
        out.append((pattern, item[1]))
    return tuple(out)


@dataclass(frozen=True)
class LinkerConfig:
    """Index parameters (part of the cache key) and query parameters (tuned on train + dev)."""

    analyzer: str
    ngram_range: tuple[int, int]
    sublinear_tf: bool
    include_extended_codes: bool  # 7th-character codes (encounter, fetus, ...): their parents are indexed too
    depth_penalty: float  # subtracted per level below the category
    inclusion_penalty: float  # subtracted when the best row is an inclusion term, not the description
    part_penalty: float  # subtracted when the best row is one half of a "Syncope and collapse" description
    alias_penalty: float  # subtracted when the best query is an alias, not the name itself
    max_abbreviation_length: int  # aliases in capitals up to this length are skipped (SLE, CD, MS)
    confidence_bias: float  # logistic model of P(nearest code is right) over CONFIDENCE_FEATURES
    confidence_weights: tuple[float, ...]
    corpus_confidence: float  # P(right) of a corpus-lexicon answer (leave-one-document-out on train + dev)
    min_confidence: float  # nothing is stored below this confidence

    def index_params(self) -> dict:
        return {
            "analyzer": self.analyzer,
            "ngram_range": list(self.ngram_range),
            "sublinear_tf": self.sublinear_tf,
            "include_extended_codes": self.include_extended_codes,
        }


def load_config(path: Path | str = CONFIG_PATH) -> LinkerConfig:
    """Read and validate models/icd10/linker.json."""
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        config = LinkerConfig(
            analyzer=str(data["analyzer"]),
            ngram_range=(int(data["ngram_range"][0]), int(data["ngram_range"][1])),
            sublinear_tf=bool(data["sublinear_tf"]),
            include_extended_codes=bool(data["include_extended_codes"]),
            depth_penalty=float(data["depth_penalty"]),
            inclusion_penalty=float(data["inclusion_penalty"]),
            part_penalty=float(data["part_penalty"]),
            alias_penalty=float(data["alias_penalty"]),
            max_abbreviation_length=int(data["max_abbreviation_length"]),
            confidence_bias=float(data["confidence"]["bias"]),
            confidence_weights=tuple(float(data["confidence"]["weights"][f]) for f in CONFIDENCE_FEATURES),
            corpus_confidence=float(data["corpus_confidence"]),
            min_confidence=float(data["min_confidence"]),
        )
    except (OSError, json.JSONDecodeError, KeyError, TypeError, ValueError, IndexError) as exc:
        raise ICD10DataError(f"{path}: malformed linker config: {exc!r}") from exc
    unknown = set(data["confidence"]["weights"]) - set(CONFIDENCE_FEATURES)
    if unknown:
        raise ICD10DataError(f"{path}: confidence weights for unknown features {sorted(unknown)}")
    if not (0.0 <= config.min_confidence <= 1.0 and 0.0 <= config.corpus_confidence <= 1.0):
        raise ICD10DataError(f"{path}: min_confidence and corpus_confidence must be probabilities")
    if config.analyzer not in ("char", "char_wb") or not 1 <= config.ngram_range[0] <= config.ngram_range[1]:
        raise ICD10DataError(f"{path}: analyzer must be char/char_wb with a valid ngram_range")
    return config


@dataclass(frozen=True)
class CorpusEntry:
    """A name or alias of train/dev gold indications: its hand-checked codes (() = no sure code) and documents."""

    codes: tuple[str, ...]
    documents: tuple[str, ...]


def load_corpus(path: Path | str = CORPUS_PATH) -> dict[str, CorpusEntry]:
    """Read and validate the corpus lexicon: {normalised form: CorpusEntry}; a bad entry raises ICD10DataError."""
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        forms = data["forms"]
    except (OSError, json.JSONDecodeError, KeyError, TypeError) as exc:
        raise ICD10DataError(f"{path}: cannot read the corpus lexicon: {exc!r}") from exc
    if not isinstance(forms, dict):
        raise ICD10DataError(f"{path}: 'forms' must be an object of normalised form -> entry")
    out = {}
    for form, entry in forms.items():
        codes, documents = (entry.get("codes"), entry.get("documents")) if isinstance(entry, dict) else (None, None)
        if normalize_text(form) != form or not form:
            raise ICD10DataError(f"{path}: form {form!r} is not normalised text ({normalize_text(form)!r})")
        if not isinstance(codes, list) or not all(isinstance(c, str) and _CODE.fullmatch(c) for c in codes):
            raise ICD10DataError(f"{path}: forms[{form!r}].codes must be a list of ICD-10-CM codes with dots")
        if not isinstance(documents, list) or not documents or not all(isinstance(d, str) and d for d in documents):
            raise ICD10DataError(f"{path}: forms[{form!r}].documents must name the gold documents it comes from")
        out[form] = CorpusEntry(tuple(codes), tuple(documents))
    return out


def alias_within_name(alias: str, name: str, max_abbreviation_length: int) -> bool:
    """Whether an alias can answer for the name in the lexicon: the name is an abbreviation the alias spells
    out, or the alias's content words are all in the name ("myocardial infarction" of "Acute myocardial
    infarction"). An extracted indication's other aliases are often other conditions merged into it (a
    list member "cataract" of "Concomitant intraocular disease", a subtype "obstructive sleep apnea" of
    "Sleep apnea"): their codes are not the name's."""
    if is_abbreviation(name, max_abbreviation_length):
        return True
    name_words = set(_content_words(normalize_text(name)))
    alias_words = _content_words(normalize_text(alias))
    return bool(alias_words) and all(w in name_words for w in alias_words)


def corpus_lookup(
    corpus: dict[str, CorpusEntry], name: str, aliases: Sequence[str] = (), max_abbreviation_length: int = 6
) -> CorpusEntry | None:
    """The lexicon entry of the name, else of the first alias within the name that has one."""
    for text in [name, *(a for a in aliases if alias_within_name(a, name, max_abbreviation_length))]:
        entry = corpus.get(normalize_text(text))
        if entry is not None:
            return entry
    return None


def is_abbreviation(text: str, max_length: int) -> bool:
    """A short all-capital form (SLE, CD, MS): too few n-grams to query, and ambiguous across policies."""
    return text.strip().isupper() and len(text.strip()) <= max_length


def code_within(code: str, gold_code: str) -> bool:
    """Whether `code` is `gold_code` or lies inside it (I48.91 within category I48); dots are ignored."""
    return code.replace(".", "").startswith(gold_code.replace(".", ""))


def codes_agree(codes: Sequence[str], gold_codes: Sequence[str]) -> bool:
    """Whether stored codes are right for a condition: each is a gold code or inside one (no gold code: never)."""
    return bool(codes) and all(any(code_within(c, g) for g in gold_codes) for c in codes)


def _content_words(normalized: str) -> list[str]:
    return [w for w in normalized.split() if w not in _STOPWORDS]


def word_coverage(query: str, description: str) -> float:
    """Share of the query's content words that the description has (5-letter stems: carcinomas ~ carcinoma)."""
    words = _content_words(query)
    if not words:
        return 0.0
    stems = {w[:5] for w in _content_words(description)}
    return sum(w[:5] in stems for w in words) / len(words)


def confidence_of(features: Sequence[float], config: LinkerConfig) -> float:
    """P(the nearest code is right) under the logistic model of linker.json."""
    z = config.confidence_bias + sum(w * x for w, x in zip(config.confidence_weights, features))
    return float(1.0 / (1.0 + np.exp(-z)))


@dataclass(frozen=True)
class Decision:
    """What to store for one condition: `codes` (() = none), the best candidate and its calibrated confidence."""

    codes: tuple[str, ...]
    candidate: tuple[str, ...]  # the codes considered, stored or not
    confidence: float  # P(candidate is right); for a corpus "no code" entry, P(that no code is right)
    source: str  # "corpus" (the lexicon), "nearest" (the TF-IDF index) or "none" (nothing to query)
    features: tuple[float, ...] = ()  # CONFIDENCE_FEATURES of a nearest-description match


# --- the index -------------------------------------------------------------------------------------


def _icd_data_identity() -> str:
    """simple-icd-10-cm's version and data files, found without importing it (its import parses 10 MB of XML)."""
    version = importlib.metadata.version("simple_icd_10_cm")
    spec = importlib.util.find_spec("simple_icd_10_cm")
    files = []
    for location in spec.submodule_search_locations or []:
        data_dir = Path(location) / "data"
        if data_dir.is_dir():
            files += sorted(f"{p.name}:{p.stat().st_size}" for p in data_dir.iterdir() if p.suffix in (".txt", ".xml"))
    return f"simple_icd_10_cm=={version};" + ";".join(files)


def cache_dir() -> Path:
    """$LCD_CACHE_DIR/icd10, else $XDG_CACHE_HOME (or ~/.cache)/lcd-pipeline/icd10."""
    return settings.cache_root() / "icd10"


def cache_key(config: LinkerConfig) -> str:
    """Names the cache files: changes with INDEX_VERSION, the index parameters and the ICD-10-CM data."""
    identity = json.dumps([INDEX_VERSION, config.index_params(), _icd_data_identity()], sort_keys=True)
    return f"{CACHE_PREFIX}{INDEX_VERSION}-{hashlib.sha256(identity.encode()).hexdigest()[:12]}"


def _index_rows(include_extended_codes: bool = True) -> tuple[list[str], list[str], list[int], list[int], list[str]]:
    """(codes, descriptions, row_code, row_kind, row_text) for every category and subcategory."""
    with warnings.catch_warnings():  # its import reads its data with deprecated importlib.resources calls
        warnings.simplefilter("ignore", DeprecationWarning)
        import simple_icd_10_cm as cm  # slow (~2 s: it parses the XML tables): only when the index is built

    codes, descriptions = [], []
    row_code, row_kind, row_text = [], [], []
    for code in dict.fromkeys(cm.get_all_codes(with_dots=True)):
        # Not is_chapter_or_block: a one-category block (C50, B20, ...) shares its name with the
        # category, which must stay; get_all_codes lists such names twice, hence the dict.
        if not cm.is_category_or_subcategory(code):
            continue
        if not include_extended_codes and cm.is_extended_subcategory(code):
            continue
        index = len(codes)
        description = cm.get_description(code)
        codes.append(code)
        descriptions.append(description)
        seen: set[str] = set()
        variants = description_variants(description)
        texts = [(DESCRIPTION, description)] + [(VARIANT, v) for v in variants]
        texts += [(PART, p) for text in [description, *variants] for p in description_parts(text)]
        for term in cm.get_inclusion_term(code):
            texts += [(INCLUSION, term)] + [(INCLUSION, v) for v in description_variants(term)]
        for kind, text in texts:
            normalized = normalize_text(text)
            if normalized and normalized not in seen:
                seen.add(normalized)
                row_code.append(index)
                row_kind.append(kind)
                row_text.append(normalized)
    return codes, descriptions, row_code, row_kind, row_text


def _vectorizer(config: LinkerConfig, vocabulary=None):
    from sklearn.feature_extraction.text import TfidfVectorizer

    return TfidfVectorizer(
        analyzer=config.analyzer,
        ngram_range=config.ngram_range,
        sublinear_tf=config.sublinear_tf,
        lowercase=False,  # texts are normalised before they get here
        dtype=np.float32,
        vocabulary=vocabulary,
    )


def _atomic_write(path: Path, write) -> None:
    """Write through a temporary file in the same directory, then rename: readers never see half a file."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            write(handle)
        os.chmod(tmp, 0o644)  # mkstemp makes 0600; a cache may be shared by the users of one machine
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _write_cache(directory: Path, key: str, meta: dict, matrix: sp.csc_matrix) -> None:
    """Store one index (uncompressed npz: compression would triple the load time) and prune older ones."""
    directory.mkdir(parents=True, exist_ok=True)
    # Matrix first, metadata last: the JSON is what marks the cache entry as complete.
    _atomic_write(directory / f"{key}.npz", lambda f: sp.save_npz(f, matrix, compressed=False))
    _atomic_write(directory / f"{key}.json", lambda f: f.write(json.dumps(meta, separators=(",", ":")).encode()))
    for old in directory.glob(f"{CACHE_PREFIX}*"):
        if old.stem != key:
            old.unlink(missing_ok=True)  # an index of another version or configuration: dead weight


class Linker:
    """The loaded index plus the query settings; `link` and `link_codes` are its whole API."""

    def __init__(
        self,
        config: LinkerConfig,
        synonyms: Synonyms,
        meta: dict,
        matrix: sp.csc_matrix,
        corpus: dict[str, CorpusEntry] | None = None,
    ):
        self.config = config
        self.synonyms = synonyms
        self.corpus: dict[str, CorpusEntry] = corpus or {}
        self.index_version: str = meta["index_version"]
        self.codes: list[str] = meta["codes"]
        self.descriptions: list[str] = meta["descriptions"]
        self.row_code = np.asarray(meta["row_code"], dtype=np.int32)
        self.row_kind = np.asarray(meta["row_kind"], dtype=np.int8)
        self.row_text: list[str] = meta["row_text"]
        depth = np.array([code_depth(c) for c in self.codes], dtype=np.float32)
        # Everything about a row that does not depend on the query, folded into one offset.
        self.row_offset = -(
            config.depth_penalty * depth[self.row_code]
            + config.inclusion_penalty * (self.row_kind == INCLUSION)
            + config.part_penalty * (self.row_kind == PART)
        ).astype(np.float32)
        # Stored as CSC (rows x features), so its transpose is CSR (features x rows): a query's
        # similarities are then the sum of the posting lists of its n-grams, not a pass over all rows.
        self.postings = sp.csc_matrix(matrix).T
        self.vectorizer = _vectorizer(config, vocabulary={t: i for i, t in enumerate(meta["vocabulary"])})
        self.vectorizer.idf_ = np.asarray(meta["idf"], dtype=np.float64)
        self._code_index = {code: i for i, code in enumerate(self.codes)}

    # -- building and caching --

    @classmethod
    def build(
        cls, config: LinkerConfig, synonyms: Synonyms, corpus: dict[str, CorpusEntry] | None = None
    ) -> tuple["Linker", dict, sp.csc_matrix]:
        """Vectorise every row of the ICD-10-CM tables (the slow path)."""
        codes, descriptions, row_code, row_kind, row_text = _index_rows(config.include_extended_codes)
        vectorizer = _vectorizer(config)
        matrix = vectorizer.fit_transform(row_text).tocsc()
        vocabulary = [None] * len(vectorizer.vocabulary_)
        for term, column in vectorizer.vocabulary_.items():
            vocabulary[column] = term
        meta = {
            "index_version": INDEX_VERSION,
            "icd_data": _icd_data_identity(),
            "params": config.index_params(),
            "shape": list(matrix.shape),
            "codes": codes,
            "descriptions": descriptions,
            "row_code": row_code,
            "row_kind": row_kind,
            "row_text": row_text,
            "vocabulary": vocabulary,
            "idf": [float(x) for x in vectorizer.idf_],
        }
        return cls(config, synonyms, meta, matrix, corpus), meta, matrix

    @classmethod
    def load_or_build(
        cls,
        config: LinkerConfig,
        synonyms: Synonyms,
        directory: Path | None = None,
        corpus: dict[str, CorpusEntry] | None = None,
    ) -> "Linker":
        """Load the cached index for this configuration, building and caching it first if it is missing."""
        directory = Path(directory) if directory is not None else cache_dir()
        key = cache_key(config)
        matrix_path, meta_path = directory / f"{key}.npz", directory / f"{key}.json"
        if matrix_path.exists() and meta_path.exists():
            try:
                meta = json.loads(meta_path.read_text(encoding="utf-8"))
                matrix = sp.load_npz(matrix_path)
                if meta.get("index_version") == INDEX_VERSION and list(matrix.shape) == meta["shape"]:
                    return cls(config, synonyms, meta, matrix, corpus)
                log.warning("ICD-10 index cache %s does not match its metadata: rebuilding", matrix_path)
            except (OSError, ValueError, KeyError) as exc:
                log.warning("ICD-10 index cache %s is unreadable (%s): rebuilding", matrix_path, exc)
        linker, meta, matrix = cls.build(config, synonyms, corpus)
        try:
            _write_cache(directory, key, meta, matrix)
        except OSError as exc:  # a read-only home or a full disk: link anyway, rebuild next time
            log.warning("cannot cache the ICD-10 index in %s (%s): it will be rebuilt next time", directory, exc)
        return linker

    # -- querying --

    def queries(self, name: str, aliases: Sequence[str] = ()) -> list[tuple[str, float]]:
        """(normalised query, penalty) for the name and each usable alias, without duplicates.

        Short all-capital aliases (SLE, CD, MS) are skipped: their few character n-grams match
        unrelated descriptions, unless the synonym data spells them out.
        """
        out: dict[str, float] = {}
        for i, text in enumerate([name, *aliases]):
            normalized = normalize_text(text)
            if not normalized:
                continue
            rewritten = self.synonyms.rewrite(normalized)
            if is_abbreviation(text, self.config.max_abbreviation_length) and rewritten == normalized:
                continue
            if len(rewritten) < 3:
                continue
            penalty = 0.0 if i == 0 else self.config.alias_penalty
            out[rewritten] = min(out.get(rewritten, penalty), penalty)
        return list(out.items())

    def scores(self, name: str, aliases: Sequence[str] = ()) -> np.ndarray:
        """The best score of every row over the name and its aliases (similarity minus penalties)."""
        return next(self._iter_scores([(name, aliases)]))

    def _iter_scores(self, items: Sequence[tuple[str, Sequence[str]]]) -> Iterator[np.ndarray]:
        """`scores` of each (name, aliases), from one vectorisation and one sparse product per batch of items.

        For one condition the fixed costs (sklearn's input validation, the product's set-up over every
        index row) outweigh the work; each query row's similarities do not depend on the other queries,
        so a batch gives the same numbers. Batches are capped because their similarities are made dense
        (one `toarray` is several times cheaper than one per row): 70k floats per query.
        """
        for batch_start in range(0, len(items), LINK_BATCH):
            queries = [self.queries(name, aliases) for name, aliases in items[batch_start : batch_start + LINK_BATCH]]
            flat = [q for item_queries in queries for q, _ in item_queries]
            similarities = (self.vectorizer.transform(flat) @ self.postings).toarray() if flat else None
            first = 0
            for item_queries in queries:
                best = np.full(self.row_code.shape[0], -np.inf, dtype=np.float32)
                if not item_queries:
                    yield best
                    continue
                for row, (_, penalty) in zip(similarities[first : first + len(item_queries)], item_queries):
                    np.maximum(best, row - penalty, out=best)
                first += len(item_queries)
                yield best + self.row_offset

    def link(self, name: str, aliases: Sequence[str] = (), top_k: int = 1) -> list[Link]:
        """The top_k codes for a condition name, best first: (code, description, score)."""
        return self._top_links(self.scores(name, aliases), top_k)

    def _top_links(self, scores: np.ndarray, top_k: int) -> list[Link]:
        """The top_k distinct codes of one condition's row scores, best first."""
        if not np.isfinite(scores).any():
            return []
        out: list[Link] = []
        seen: set[int] = set()
        # The top rows, enough of them to find top_k distinct codes (a code has several rows).
        n = min(len(scores), max(8, 4 * top_k))
        while True:
            candidates = np.argpartition(-scores, n - 1)[:n]
            for row in candidates[np.argsort(-scores[candidates], kind="stable")]:
                code = int(self.row_code[row])
                if code in seen or not np.isfinite(scores[row]):
                    continue
                seen.add(code)
                out.append((self.codes[code], self.descriptions[code], round(float(scores[row]), 4)))
                if len(out) == top_k:
                    return out
            if n == len(scores):
                return out
            n, out, seen = min(len(scores), n * 4), [], set()

    def link_codes(self, name: str, aliases: Sequence[str] = ()) -> tuple[str, ...]:
        """The codes to store for a condition: the corpus lexicon's, else the nearest if confident enough."""
        return self.decide_many([(name, aliases)])[0].codes

    def link_codes_many(self, items: Sequence[tuple[str, Sequence[str]]]) -> list[tuple[str, ...]]:
        """`link_codes` of several (name, aliases) at once (one document's indications): same answers, one batch."""
        return [decision.codes for decision in self.decide_many(items)]

    def corpus_entry(self, name: str, aliases: Sequence[str] = ()) -> CorpusEntry | None:
        """The lexicon entry of the name, else of the first alias that has one."""
        return corpus_lookup(self.corpus, name, aliases, self.config.max_abbreviation_length)

    def decide_many(
        self, items: Sequence[tuple[str, Sequence[str]]], use_corpus: bool = True
    ) -> list[Decision]:
        """The Decision for each (name, aliases): lexicon first, then the nearest description, in one batch."""
        decisions: list[Decision | None] = [None] * len(items)
        if use_corpus:
            for i, (name, aliases) in enumerate(items):
                entry = self.corpus_entry(name, aliases)
                if entry is not None:
                    decisions[i] = Decision(entry.codes, entry.codes, self.config.corpus_confidence, "corpus")
        to_link = [i for i, decision in enumerate(decisions) if decision is None]
        for i, scores in zip(to_link, self._iter_scores([items[i] for i in to_link])):
            decisions[i] = self._nearest_decision(items[i][0], items[i][1], scores)
        return decisions

    def _nearest_decision(self, name: str, aliases: Sequence[str], scores: np.ndarray) -> Decision:
        """The nearest code with its calibrated confidence, stored only at min_confidence."""
        top = self._top_links(scores, top_k=8)
        if not top:
            return Decision((), (), 0.0, "none")
        code, _, score = top[0]
        category = code.split(".")[0]
        # The best code of another category: a near tie between two categories means the name is ambiguous.
        other = next((s for c, _, s in top[1:] if c.split(".")[0] != category), top[-1][2] if len(top) > 1 else 0.0)
        # Word coverage against the row that matched (an inclusion term may be what the name says).
        matched_text = self.row_text[int(np.argmax(scores))]
        coverage, _, query, penalty = max(
            (word_coverage(q, matched_text), -penalty, q, penalty) for q, penalty in self.queries(name, aliases)
        )
        features = (
            score,
            score - other,
            coverage,
            float(len(_content_words(query)) == 1),
            float(penalty > 0),
            # on the rewritten name: "haemophilia" is a condition word once spelled "hemophilia"
            float(is_condition_like(self.synonyms.rewrite(normalize_text(name)), load_lexicon())),
        )
        confidence = round(confidence_of(features, self.config), 4)
        stored = (code,) if confidence >= self.config.min_confidence else ()
        return Decision(stored, (code,), confidence, "nearest", features)

    def has_code(self, code: str) -> bool:
        """Whether the index knows this code (with its dot, as simple-icd-10-cm writes it)."""
        return code in self._code_index


_lock = threading.Lock()


@lru_cache(maxsize=1)
def _default_linker(directory: str) -> Linker:
    return Linker.load_or_build(load_config(), load_synonyms(), Path(directory), load_corpus())


def get_linker() -> Linker:
    """The process-wide linker for the current cache directory, loaded (or built) on first use."""
    with _lock:
        return _default_linker(str(cache_dir()))


def reset_linker() -> None:
    """Forget the process-wide linker (after its config, synonyms or cache directory changed)."""
    with _lock:
        _default_linker.cache_clear()


def link(name: str, aliases: Sequence[str] = (), top_k: int = 1) -> list[Link]:
    """The top_k ICD-10-CM codes for an indication name and its aliases: [(code, description, score)].

    Example: link("Systemic lupus erythematosus") -> [("M32", "Systemic lupus erythematosus (SLE)", 1.0)]
    """
    return get_linker().link(name, aliases, top_k)


def link_codes(name: str, aliases: Sequence[str] = ()) -> tuple[str, ...]:
    """The codes to store in `indications.icd10_codes`: () when no code is confident enough."""
    return get_linker().link_codes(name, aliases)


def decide(name: str, aliases: Sequence[str] = ()) -> Decision:
    """The codes to store for a condition with the calibrated confidence behind them.

    Example: decide("Systemic lupus erythematosus").codes -> ("M32",)
    """
    return get_linker().decide_many([(name, aliases)])[0]


def link_codes_many(items: Sequence[tuple[str, Sequence[str]]]) -> list[tuple[str, ...]]:
    """`link_codes` of several (name, aliases) pairs in one batch; the index is not loaded for an empty batch."""
    if not items:
        return []
    return get_linker().link_codes_many(items)
