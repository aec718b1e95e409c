"""Saves the learning study's results to a .tar.xz, or restores them into an empty root, so that
the study can be reported, checked or continued in another checkout (runs/ does not travel).

The archive holds what bench/learning_report.py reads and what tells bench/learning_study.py that
a run is finished: the root's platform.json, chosen.json, search.csv and search_reference.json;
each model pair's gold scores (learning_study.LEVELS) and wall.json; each finished run's
summary.json, wall.json and scored snapshots (samples/step-*.eval.json). No weights, checkpoints,
answers or logs: a continued study makes a pair's models again when a new run needs them, and
stops if they do not score as the archive says. A run still in progress (no wall.json yet) is
left out, so saving while the study runs is safe. The archive is byte-identical for the same
results (sorted members, no times, no owners).

Usage: python3 bench/learning_archive.py save ROOT ARCHIVE
       python3 bench/learning_archive.py restore ARCHIVE ROOT"""
import glob
import io
import os
import sys
import tarfile

sys.path.insert(0, os.path.dirname(__file__))
from learning_study import LEVELS  # noqa: E402

TOP = ["platform.json", "chosen.json", "search.csv", "search_reference.json"]


def members(root):
    """The root-relative paths of every result under root, sorted."""
    paths = [f for f in TOP if os.path.exists(f"{root}/{f}")]
    for d in glob.glob(f"{root}/models/*/"):
        paths += [os.path.relpath(f"{d}{f}", root) for f in LEVELS + ["wall.json"] if os.path.exists(f"{d}{f}")]
    for wall in glob.glob(f"{root}/search/*/*/*/wall.json") + glob.glob(f"{root}/final/*/*/*/wall.json") + \
            glob.glob(f"{root}/variants/*/*/*/wall.json"):
        run = os.path.dirname(wall)
        if not os.path.exists(f"{run}/summary.json"):
            sys.exit(f"{run}: has wall.json but no summary.json; not a finished run of the study")
        paths += [os.path.relpath(f, root) for f in [wall, f"{run}/summary.json"]
                  + glob.glob(f"{run}/samples/step-*.eval.json")]
    return sorted(paths)


def save(root, archive):
    if not os.path.exists(f"{root}/platform.json"):
        sys.exit(f"{root}: no platform.json; not a root of the learning study")
    paths = members(root)
    tmp = archive + ".tmp"
    with tarfile.open(tmp, "w:xz", format=tarfile.PAX_FORMAT) as tar:
        for p in paths:
            data = open(f"{root}/{p}", "rb").read()
            info = tarfile.TarInfo(p)
            info.size, info.mode = len(data), 0o644
            tar.addfile(info, io.BytesIO(data))
    os.replace(tmp, archive)
    runs = sum(p.endswith("/summary.json") for p in paths)
    print(f"{archive}: {len(paths)} files, {runs} finished runs, {os.path.getsize(archive)} bytes")


def restore(archive, root):
    if os.path.exists(f"{root}/platform.json"):
        sys.exit(f"{root}: already holds a study (platform.json); restore into an empty root")
    with tarfile.open(archive, "r:xz") as tar:
        for m in tar.getmembers():
            if not m.isfile() or m.name.startswith("/") or ".." in m.name.split("/"):
                sys.exit(f"{archive}: member {m.name!r} is not a plain file inside the root")
        tar.extractall(root)  # every member checked above: plain files under root
        print(f"{root}: restored {len(tar.getmembers())} files from {archive}")


def main():
    if len(sys.argv) != 4 or sys.argv[1] not in ("save", "restore"):
        sys.exit(__doc__.split("Usage: ")[1])
    (save if sys.argv[1] == "save" else restore)(sys.argv[2], sys.argv[3])


if __name__ == "__main__":
    main()
