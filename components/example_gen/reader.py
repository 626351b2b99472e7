"""Reads the Large Movie Review Dataset (aclImdb) into review records with Beam.

The dataset comes either as its published archive (``aclImdb_v1.tar.gz``) or
unpacked: ``<root>/{train,test}/{pos,neg,unsup}/<id>_<rating>.txt`` plus
``<root>/{train,test}/urls_<folder>.txt``, whose line ``i`` is the IMDb page of
review ``i`` of that folder. Archives are streamed member by member, never
unpacked to disk, so the same code reads a local file or a ``gs://`` object.

Every check on the input is a small pure function that raises
:class:`ImdbDataError` naming the offending file, so that a later quarantine can
reuse them record by record instead of failing the whole run.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
import dataclasses
import hashlib
import re
import tarfile

import apache_beam as beam
from apache_beam.io import fileio
from apache_beam.io.filesystem import CompressionTypes, FileMetadata
from apache_beam.io.filesystems import FileSystems
import tensorflow as tf

from components.example_gen.options import validate_eval_percent
from schemas import features

# Folder names of the published dataset layout (not our split names: the
# train/ folder is split further into train and eval).
TRAIN_DIR = "train"
TEST_DIR = "test"
POS = "pos"
NEG = "neg"
UNSUP = "unsup"

ARCHIVE_SUFFIXES = (".tar.gz", ".tgz", ".tar")

# A file in a review folder; the name itself is checked by parse_review_name.
_REVIEW_PATH = re.compile(r"(?:^|/)((train|test)/(pos|neg|unsup)/([^/]+\.txt))$")
_REVIEW_NAME = re.compile(r"(\d+)_(\d+)\.txt")
_URLS_PATH = re.compile(r"(?:^|/)((train|test)/urls_(pos|neg|unsup)\.txt)$")
_MOVIE_ID = re.compile(r"tt\d+")

# Allowed ratings per folder, as documented in the dataset's README.
RATING_RANGES = {POS: (7, 10), NEG: (1, 4), UNSUP: (0, 0)}
# Label values per folder; unsup reviews have no label.
LABELS = {POS: 1, NEG: 0}

# Output splits in the order beam.Partition numbers them.
OUTPUT_SPLITS = (features.TRAIN, features.EVAL, features.TEST, features.UNSUP)


class ImdbDataError(ValueError):
    """The input is not a well-formed copy of the IMDb dataset; the message names the file."""


@dataclasses.dataclass(frozen=True)
class Review:
    """One review file and what its path and the urls files say about it.

    Attributes:
        source: Path relative to the dataset root, e.g. ``train/pos/0_9.txt``.
        split_dir: ``train`` or ``test``: the dataset folder, not our output split.
        folder: ``pos``, ``neg`` or ``unsup``.
        review_id: The ``<id>`` of ``<id>_<rating>.txt``; line of the urls file.
        rating: The ``<rating>`` of ``<id>_<rating>.txt`` (0 for unsup).
        text: The review as published (HTML line breaks kept).
        movie_id: IMDb title id (``tt0453418``), None when no urls file covers it.
    """

    source: str
    split_dir: str
    folder: str
    review_id: int
    rating: int
    text: str
    movie_id: str | None = None


@dataclasses.dataclass(frozen=True)
class ReviewPath:
    """What a review's path says: the dataset it belongs to and its name fields."""

    dataset: str
    source: str
    split_dir: str
    folder: str
    review_id: int
    rating: int


# Join key of a review and its urls line: (dataset, split_dir, folder, review_id).
JoinKey = tuple[str, str, str, int]


def is_archive(path: str) -> bool:
    """Whether ``path`` names a tar archive that may hold the dataset."""
    return path.lower().endswith(ARCHIVE_SUFFIXES)


def check_rating(folder: str, rating: int, where: str) -> None:
    """Raises unless ``rating`` is allowed in ``folder``: a mismatch means a mislabeled review."""
    low, high = RATING_RANGES[folder]
    if not low <= rating <= high:
        allowed = f"{low}" if low == high else f"{low}-{high}"
        raise ImdbDataError(
            f"{where}: rating {rating} contradicts folder '{folder}' ({folder} needs a rating of {allowed})"
        )


def parse_review_name(name: str, where: str) -> tuple[int, int]:
    """Returns (review_id, rating) from a file name ``<id>_<rating>.txt``."""
    match = _REVIEW_NAME.fullmatch(name)
    if not match:
        raise ImdbDataError(f"{where}: review file name must be <id>_<rating>.txt, got '{name}'")
    return int(match.group(1)), int(match.group(2))


def parse_review_path(path: str, where: str | None = None) -> ReviewPath | None:
    """Parses a review path (a file path or an archive member name).

    Args:
        path: Path whose tail is ``<split>/<folder>/<file>.txt``.
        where: How to name the file in errors; defaults to ``path``.

    Returns:
        The parsed path, or None when ``path`` is not a ``.txt`` file in a review
        folder. ``dataset`` is everything before ``<split>/`` (the dataset root
        without its trailing slash, or the archive's top folder).

    Raises:
        ImdbDataError: The file is in a review folder but its name or rating is wrong.
    """
    match = _REVIEW_PATH.search(path)
    if not match:
        return None
    where = where or path
    source, split_dir, folder, name = match.groups()
    review_id, rating = parse_review_name(name, where)
    check_rating(folder, rating, where)
    dataset = path[: match.start(1)].rstrip("/")
    return ReviewPath(dataset, source, split_dir, folder, review_id, rating)


def parse_urls_path(path: str) -> tuple[str, str, str] | None:
    """Returns (dataset, split_dir, folder) for a ``<split>/urls_<folder>.txt`` path, else None."""
    match = _URLS_PATH.search(path)
    if not match:
        return None
    return path[: match.start(1)].rstrip("/"), match.group(2), match.group(3)


def urls_path_for(dataset: str, split_dir: str, folder: str) -> str:
    """Returns where an unpacked dataset keeps the urls file of one folder."""
    return FileSystems.join(dataset, split_dir, f"urls_{folder}.txt")


def decode_text(data: bytes, where: str) -> str:
    """Decodes strict UTF-8: a review that is not valid UTF-8 is corrupt, not to be guessed at."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as error:
        raise ImdbDataError(f"{where}: not valid UTF-8 ({error.reason} at byte {error.start})") from None


def parse_movie_ids(data: bytes, where: str) -> list[str]:
    """Returns the IMDb title id of each line of a urls file (line i = review id i)."""
    movie_ids = []
    for number, line in enumerate(decode_text(data, where).splitlines()):
        match = _MOVIE_ID.search(line)
        if not match:
            raise ImdbDataError(f"{where} line {number + 1}: no IMDb title id (tt<digits>) in {line!r}")
        movie_ids.append(match.group(0))
    return movie_ids


def split_bucket(review: Review) -> int:
    """Returns the stable bucket 0-99 of a train review.

    The key is the movie, so all reviews of one movie fall on the same side of
    the train/eval cut (reviews of a movie share names and plot words, which
    would leak into eval otherwise); the text when the movie is unknown.
    SHA-256, not Python's ``hash``, so every process and worker agrees.
    """
    if review.movie_id:
        key = b"movie:" + review.movie_id.encode("utf-8")
    else:
        key = b"text:" + review.text.encode("utf-8")
    return int(hashlib.sha256(key).hexdigest(), 16) % 100


def assign_split(review: Review, eval_percent: int) -> str:
    """Returns the output split of a review.

    Unlabeled reviews go to unsup whatever their dataset folder (a labeled
    split cannot hold them), the official test set stays the test split, and
    labeled train reviews are cut into train and eval by movie.
    """
    if review.folder == UNSUP:
        return features.UNSUP
    if review.split_dir == TEST_DIR:
        return features.TEST
    return features.EVAL if split_bucket(review) < eval_percent else features.TRAIN


def to_tf_example(review: Review) -> tf.train.Example:
    """Converts a review to the raw tf.train.Example described by schemas/raw_schema.pbtxt."""

    def int_feature(value: int) -> tf.train.Feature:
        return tf.train.Feature(int64_list=tf.train.Int64List(value=[value]))

    def bytes_feature(value: str) -> tf.train.Feature:
        return tf.train.Feature(bytes_list=tf.train.BytesList(value=[value.encode("utf-8")]))

    feature = {
        features.TEXT: bytes_feature(review.text),
        features.REVIEW_ID: int_feature(review.review_id),
        features.RATING: int_feature(review.rating),
        features.SOURCE: bytes_feature(review.source),
    }
    if review.folder in LABELS:
        feature[features.LABEL] = int_feature(LABELS[review.folder])
    if review.movie_id is not None:
        feature[features.MOVIE_ID] = bytes_feature(review.movie_id)
    return tf.train.Example(features=tf.train.Features(feature=feature))


def _review(parsed: ReviewPath, text: str) -> tuple[JoinKey, Review]:
    review = Review(parsed.source, parsed.split_dir, parsed.folder, parsed.review_id, parsed.rating, text)
    return (parsed.dataset, parsed.split_dir, parsed.folder, parsed.review_id), review


def _movie_lines(
    dataset: str, split_dir: str, folder: str, data: bytes, where: str
) -> Iterator[tuple[JoinKey, str]]:
    for review_id, movie_id in enumerate(parse_movie_ids(data, where)):
        yield (dataset, split_dir, folder, review_id), movie_id


class _ReadMatchFn(beam.DoFn):
    """Reads one matched file: an archive (reviews and urls) or one review file.

    Reviews go to the main output, keyed for the join; the movie id of each urls
    line goes to ``URLS`` and the (dataset, split_dir, folder) of each loose
    review file to ``FOLDERS``, whose urls files are read once each later.
    """

    URLS = "urls"
    FOLDERS = "folders"

    def process(self, metadata: FileMetadata) -> Iterator:
        path = metadata.path
        if is_archive(path):
            yield from self._read_archive(path)
            return
        parsed = parse_review_path(path)
        if parsed is None:
            raise ImdbDataError(
                f"{path}: neither an IMDb archive ({', '.join(ARCHIVE_SUFFIXES)}) nor a review file "
                "<train|test>/<pos|neg|unsup>/<id>_<rating>.txt"
            )
        with FileSystems.open(path, compression_type=CompressionTypes.UNCOMPRESSED) as file:
            text = decode_text(file.read(), path)
        yield _review(parsed, text)
        yield beam.pvalue.TaggedOutput(self.FOLDERS, (parsed.dataset, parsed.split_dir, parsed.folder))

    def _read_archive(self, path: str) -> Iterator:
        with (
            FileSystems.open(path, compression_type=CompressionTypes.UNCOMPRESSED) as file,
            tarfile.open(fileobj=file, mode="r|*") as archive,
        ):
            # Streaming mode: each member must be read before moving to the next.
            for member in archive:
                if not member.isfile():
                    continue
                where = f"{path} (member {member.name})"
                parsed = parse_review_path(member.name, where)
                if parsed is not None:
                    text = decode_text(archive.extractfile(member).read(), where)
                    parsed = dataclasses.replace(parsed, dataset=f"{path}/{parsed.dataset}")
                    yield _review(parsed, text)
                    continue
                urls = parse_urls_path(member.name)
                if urls is not None:
                    dataset, split_dir, folder = urls
                    data = archive.extractfile(member).read()
                    for line in _movie_lines(f"{path}/{dataset}", split_dir, folder, data, where):
                        yield beam.pvalue.TaggedOutput(self.URLS, line)


def _read_urls_file(folder: tuple[str, str, str]) -> Iterator[tuple[JoinKey, str]]:
    """Reads the urls file of one folder of an unpacked dataset, if the dataset has one."""
    dataset, split_dir, name = folder
    path = urls_path_for(dataset, split_dir, name)
    if not FileSystems.exists(path):
        return
    with FileSystems.open(path, compression_type=CompressionTypes.UNCOMPRESSED) as file:
        data = file.read()
    yield from _movie_lines(dataset, split_dir, name, data, path)


def _attach_movie_id(joined: tuple[JoinKey, dict[str, Iterable]]) -> Iterator[Review]:
    _key, groups = joined
    movie_ids = list(groups["movie_id"])
    movie_id = movie_ids[0] if movie_ids else None
    for review in groups["review"]:
        yield dataclasses.replace(review, movie_id=movie_id)


def _require_reviews(count: int, file_pattern: str) -> int:
    if count == 0:
        raise ImdbDataError(f"no IMDb reviews found under {file_pattern}")
    return count


class ReadImdbReviews(beam.PTransform):
    """PBegin -> PCollection[Review]: every review matched by a file pattern, with its movie id.

    Each file the pattern matches is either an archive holding the dataset
    (``.tar.gz``, ``.tgz``, ``.tar``; only review files and urls files are read,
    whatever the archive's top folder is called) or one review file
    ``<root>/<split>/<folder>/<id>_<rating>.txt`` (then the movie ids come from
    ``<root>/<split>/urls_<folder>.txt`` when it exists). Reviews are joined
    with their urls line by (dataset, split_dir, folder, review_id).

    Raises (when the pipeline runs) :class:`ImdbDataError` for invalid UTF-8, a
    malformed file name, a rating that contradicts its folder, a urls line
    without a title id, or a pattern that yields no review.
    """

    def __init__(self, file_pattern: str):
        super().__init__()
        self._file_pattern = file_pattern

    def expand(self, pbegin: beam.pvalue.PBegin) -> beam.PCollection:
        read = (
            pbegin
            | "MatchFiles" >> fileio.MatchFiles(self._file_pattern, fileio.EmptyMatchTreatment.ALLOW)
            # Spreads the reading of many loose review files over workers.
            | "ReshuffleMatches" >> beam.Reshuffle()
            | "ReadMatches"
            >> beam.ParDo(_ReadMatchFn()).with_outputs(
                _ReadMatchFn.URLS, _ReadMatchFn.FOLDERS, main="reviews"
            )
        )
        urls_of_loose_files = (
            read[_ReadMatchFn.FOLDERS]
            | "DistinctFolders" >> beam.Distinct()
            | "ReadUrlsFiles" >> beam.FlatMap(_read_urls_file)
        )
        movie_ids = (read[_ReadMatchFn.URLS], urls_of_loose_files) | "MergeMovieIds" >> beam.Flatten()
        reviews = (
            {"review": read.reviews, "movie_id": movie_ids}
            | "JoinMovieIds" >> beam.CoGroupByKey()
            | "AttachMovieIds" >> beam.FlatMap(_attach_movie_id)
        )
        _ = (
            reviews
            | "CountReviews" >> beam.combiners.Count.Globally()
            | "RequireReviews" >> beam.Map(_require_reviews, self._file_pattern)
        )
        return reviews


class SplitReviews(beam.PTransform):
    """PCollection[Review] -> {split name: PCollection[Review]} for all four output splits.

    Every split is present, empty or not, so downstream steps can rely on it.
    """

    def __init__(self, eval_percent: int):
        super().__init__()
        self._eval_percent = validate_eval_percent(eval_percent)

    def expand(self, reviews: beam.PCollection) -> dict[str, beam.PCollection]:
        parts = reviews | "PartitionBySplit" >> beam.Partition(
            lambda review, _count, percent: OUTPUT_SPLITS.index(assign_split(review, percent)),
            len(OUTPUT_SPLITS),
            self._eval_percent,
        )
        return dict(zip(OUTPUT_SPLITS, parts, strict=True))
