"""Builds the small IMDb sample bundled with the project from the full dataset archive.

Usage::

    python tools/make_sample.py SRC_ARCHIVE OUT_ARCHIVE --seed 0 \\
        [--train-pos 1000] [--train-neg 1000] [--test-pos 500] [--test-neg 500] [--train-unsup 1000]

SRC_ARCHIVE is the published ``aclImdb_v1.tar.gz``. The sample keeps whole
movies: one seeded random order of all movie ids is shared by every folder,
and each folder takes the movies in that order, all of their reviews in the
folder at once, until it holds at least its quota. Counts therefore exceed the
quota by less than one movie's reviews (the dataset has at most 30 reviews per
movie), never trim a movie, and a movie taken for train/pos is often taken for
train/neg too, as in the full data. Splitting train/eval by movie thus behaves
as it does on the full dataset.

The output has the original layout below ``aclImdb/``: review files keep their
names (``<id>_<rating>.txt``, ids become sparse), the urls_*.txt files are copied
whole so line i still belongs to review id i, and the dataset's README (license
and citation) is included; imdb.vocab and imdbEr.txt are left out. The archive
is deterministic: members sorted, fixed mtime/uid/gid/mode, gzip header mtime 0,
so the same source and arguments give identical bytes.

Standard library only, so it runs without the project's environment.
"""

from __future__ import annotations

import argparse
from collections import defaultdict
from collections.abc import Iterator, Sequence
import gzip
import io
import random
import re
import sys
import tarfile

_REVIEW = re.compile(r"(?:^|/)((train|test)/(pos|neg|unsup)/(\d+)_(\d+)\.txt)$")
_URLS = re.compile(r"(?:^|/)((train|test)/urls_(pos|neg|unsup)\.txt)$")
_README = re.compile(r"^(?:\./)?[^/]+/README$")
_MOVIE_ID = re.compile(r"tt\d+")

TOP_FOLDER = "aclImdb"
# The dataset's release date (its members' mtime), as the fixed mtime of every member.
MTIME = 1306886400  # 2011-06-01T00:00:00Z
DEFAULT_QUOTAS = {
    "train/pos": 1000,
    "train/neg": 1000,
    "test/pos": 500,
    "test/neg": 500,
    "train/unsup": 1000,
}


def _members(path: str) -> Iterator[tuple[tarfile.TarFile, tarfile.TarInfo]]:
    with tarfile.open(path, mode="r|*") as archive:
        for member in archive:
            if member.isfile():
                yield archive, member


def scan(path: str) -> tuple[dict[str, dict[int, str]], dict[str, bytes], bytes]:
    """First pass over the archive: review file names, urls files and README.

    Returns:
        ({folder: {review_id: file name}}, {folder: urls file bytes}, README bytes),
        where folder is ``<split>/<pos|neg|unsup>``.
    """
    reviews: dict[str, dict[int, str]] = defaultdict(dict)
    urls: dict[str, bytes] = {}
    readme = None
    for archive, member in _members(path):
        review = _REVIEW.search(member.name)
        if review:
            source, split, folder, review_id, _rating = review.groups()
            reviews[f"{split}/{folder}"][int(review_id)] = source
            continue
        urls_match = _URLS.search(member.name)
        if urls_match:
            urls[f"{urls_match.group(2)}/{urls_match.group(3)}"] = archive.extractfile(member).read()
        elif _README.match(member.name):
            readme = archive.extractfile(member).read()
    if readme is None:
        raise SystemExit(f"{path}: no <top folder>/README in the archive; is it the published dataset?")
    return reviews, urls, readme


def movie_ids(urls_file: bytes, where: str) -> list[str]:
    """Line i of a urls file -> the IMDb title id of review i."""
    ids = []
    for number, line in enumerate(urls_file.decode("utf-8").splitlines(), start=1):
        match = _MOVIE_ID.search(line)
        if not match:
            raise SystemExit(f"{where} line {number}: no IMDb title id in {line!r}")
        ids.append(match.group(0))
    return ids


def pick(
    reviews: dict[str, dict[int, str]], urls: dict[str, bytes], quotas: dict[str, int], seed: int
) -> dict[str, list[str]]:
    """Returns {folder: sorted sources} with whole movies until each folder reaches its quota."""
    movies_by_folder = {}
    for folder in quotas:
        if folder not in urls:
            raise SystemExit(f"no urls file for {folder}: cannot group its reviews by movie")
        movies = movie_ids(urls[folder], f"urls file of {folder}")
        by_movie: dict[str, list[str]] = defaultdict(list)
        for review_id, source in reviews[folder].items():
            by_movie[movies[review_id]].append(source)
        movies_by_folder[folder] = by_movie
    order = sorted({movie for by_movie in movies_by_folder.values() for movie in by_movie})
    random.Random(seed).shuffle(order)
    picked = {}
    for folder, quota in quotas.items():
        by_movie = movies_by_folder[folder]
        sources: list[str] = []
        for movie in order:
            if len(sources) >= quota:
                break
            sources.extend(by_movie.get(movie, ()))
        if len(sources) < quota:
            raise SystemExit(f"{folder} has only {len(sources)} reviews, fewer than its quota {quota}")
        picked[folder] = sorted(sources)
    return picked


def read_sources(path: str, sources: set[str]) -> dict[str, bytes]:
    """Second pass: the bytes of the picked review files, by source."""
    found = {}
    for archive, member in _members(path):
        review = _REVIEW.search(member.name)
        if review and review.group(1) in sources:
            found[review.group(1)] = archive.extractfile(member).read()
    return found


def write_archive(path: str, files: dict[str, bytes]) -> None:
    """Writes ``files`` (relative names) below aclImdb/ as a byte-for-byte reproducible .tar.gz."""
    folders = {TOP_FOLDER}
    for name in files:
        parts = name.split("/")[:-1]
        folders.update("/".join([TOP_FOLDER, *parts[: i + 1]]) for i in range(len(parts)))
    entries = [(folder, None) for folder in folders]
    entries += [(f"{TOP_FOLDER}/{name}", data) for name, data in files.items()]
    with (
        open(path, "wb") as raw,
        gzip.GzipFile(filename="", mode="wb", fileobj=raw, compresslevel=9, mtime=0) as compressed,
        tarfile.open(fileobj=compressed, mode="w", format=tarfile.USTAR_FORMAT) as archive,
    ):
        for name, data in sorted(entries):
            info = tarfile.TarInfo(name)
            info.mtime = MTIME
            info.uid = info.gid = 0
            info.uname = info.gname = ""
            if data is None:
                info.type = tarfile.DIRTYPE
                info.mode = 0o755
                archive.addfile(info)
            else:
                info.mode = 0o644
                info.size = len(data)
                archive.addfile(info, io.BytesIO(data))


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("src_archive", help="the full dataset, aclImdb_v1.tar.gz")
    parser.add_argument("out_archive", help="where to write the sample .tar.gz")
    parser.add_argument("--seed", type=int, default=0, help="seed of the movie order (default 0)")
    for folder, quota in DEFAULT_QUOTAS.items():
        parser.add_argument(
            f"--{folder.replace('/', '-')}",
            type=int,
            default=quota,
            help=f"minimum number of {folder} reviews (default {quota})",
        )
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    quotas = {folder: getattr(args, folder.replace("/", "_")) for folder in DEFAULT_QUOTAS}
    reviews, urls, readme = scan(args.src_archive)
    picked = pick(reviews, urls, quotas, args.seed)
    wanted = {source for sources in picked.values() for source in sources}
    files = read_sources(args.src_archive, wanted)
    for folder, data in urls.items():
        split, name = folder.split("/")
        files[f"{split}/urls_{name}.txt"] = data
    files["README"] = readme
    write_archive(args.out_archive, files)
    for folder, sources in picked.items():
        movies = movie_ids(urls[folder], folder)
        ids = {int(_REVIEW.search(source).group(4)) for source in sources}
        print(
            f"{folder}: {len(sources)} reviews of {len({movies[i] for i in ids})} movies "
            f"(quota {quotas[folder]})"
        )
    print(f"wrote {args.out_archive}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
