"""The `fourfold` command line: `fourfold <group> <command> [flags]` and `fourfold <command> [flags]`.

A thin shell. Each command is an importable function that takes one config dataclass and returns a summary
dataclass; this module only finds the function, turns flags into its config with tyro (field docstrings become the
`--help` text), calls it, and prints the summary (as one JSON object with `--json`). Command modules are imported
only when their command runs, so `fourfold --help` stays fast and imports no torch.

Errors users can cause (`FourfoldError`) are printed as one line, `error: …`, with exit status 1; usage errors exit
with 2.
"""

from __future__ import annotations

import difflib
import importlib
import json
import sys
import typing
from collections.abc import Callable, Sequence
from dataclasses import dataclass, fields, is_dataclass
from typing import Any

from fourfold import __version__
from fourfold.core.config import ConfigError, to_jsonable
from fourfold.core.errors import FourfoldError


@dataclass(frozen=True)
class Command:
    """One command: its name, a one-line summary, and the function it runs as "module:function"."""

    name: str
    summary: str
    target: str


@dataclass(frozen=True)
class Group:
    """One system's commands (`fourfold gpt …`)."""

    name: str
    summary: str
    description: str
    commands: tuple[Command, ...] = ()


GROUPS: tuple[Group, ...] = (
    Group(
        "gpt",
        "pretrain, fine-tune, evaluate and generate with a GPT exact to GPT-2",
        "GPT (Radford et al. 2018, 2019): a decoder-only transformer with GPT-2's exact architecture, trained from\n"
        "scratch or fine-tuned from a Hugging Face GPT-2 folder, evaluated and sampled on the CPU or a GPU.",
        (
            Command(
                "prepare",
                "tokenise text files, folders or JSONL into train/val token shards",
                "fourfold.gpt.prepare:prepare",
            ),
            Command(
                "train",
                "pretrain or fine-tune (also --sft on prompt/response JSONL), resumable",
                "fourfold.gpt.train:train",
            ),
            Command(
                "eval",
                "loss, perplexity and bits per byte over a whole split or file",
                "fourfold.gpt.evaluate:evaluate",
            ),
            Command(
                "sample", "generate continuations of prompts (greedy at --temperature 0)", "fourfold.gpt.sample:sample"
            ),
            Command("export", "write a checkpoint as a Hugging Face GPT-2 folder", "fourfold.gpt.export:export"),
        ),
    ),
    Group(
        "gym",
        "the standard RL tasks on the Gymnasium interface, compiled and batched; watch and compare agents",
        "Gym (Brockman et al. 2016): classic-control and toy-text tasks as Gymnasium environments and batched vector\n"
        "environments, with rendering, recording, throughput benchmarks and learning-curve analysis.",
        (
            Command("list", "the tasks: ids, spaces, time limits, solved thresholds", "fourfold.gym.suite:list_tasks"),
            Command("watch", "play a task and record a video and a frame sheet", "fourfold.gym.watch:watch"),
            Command("bench", "env steps/s beside Gymnasium and envpool, one thread", "fourfold.gym.throughput:bench"),
            Command(
                "analyze",
                "learning curves, IQM and performance profiles of runs: tables, plots and an HTML report",
                "fourfold.gym.analyze:analyze",
            ),
        ),
    ),
    Group(
        "rl",
        "PPO, DQN and SAC that train on any Gymnasium environment",
        "Reinforcement learning algorithms (Schulman et al. 2017; Mnih et al. 2015; Haarnoja et al. 2018), one\n"
        "explicit loop each, with tuned presets for the Gym tasks, evaluation, videos and score tables.",
        (
            Command(
                "train", "train PPO, DQN or SAC on a task with its tuned preset, resumable", "fourfold.rl.train:train"
            ),
            Command(
                "eval", "play a trained agent greedily for N episodes: mean ± std", "fourfold.rl.evaluate:evaluate"
            ),
            Command("watch", "record a trained agent to a video and a frame sheet", "fourfold.rl.watch:watch"),
            Command(
                "table",
                "train every preset over seeds and report the score table (mean, IQM, spread)",
                "fourfold.rl.table:table",
            ),
        ),
    ),
    Group(
        "deepmoji",
        "emoji as free labels: an emotion, sentiment and sarcasm analyser",
        "DeepMoji (Felbo et al. 2017): pretrain on emoji prediction, transfer with chain-thaw to emotion, sentiment\n"
        "and sarcasm tasks, and compare with GPT features plus logistic regression.",
        (
            Command(
                "label",
                "distant supervision: texts with emoji -> 64-class training examples (or harvest the shared data)",
                "fourfold.deepmoji.label:label",
            ),
            Command("pretrain", "train DeepMoji on emoji prediction; resumable", "fourfold.deepmoji.train:pretrain"),
            Command(
                "transfer",
                "transfer a pretrained model to a task: last, full, new or chain-thaw",
                "fourfold.deepmoji.transfer:transfer",
            ),
            Command(
                "benchmark",
                "the paper's protocol on a data set over seeds, beside majority and TF-IDF floors",
                "fourfold.deepmoji.benchmark:benchmark",
            ),
            Command(
                "corpus",
                "write the data sets' train and validation texts to one file, a corpus to train a GPT on",
                "fourfold.deepmoji.corpus:make_corpus",
            ),
            Command(
                "features",
                "GPT features or TF-IDF into logistic regression on a data set",
                "fourfold.deepmoji.features:features",
            ),
            Command(
                "predict",
                "top emoji, emotion labels and the words that drove them, for texts or a file",
                "fourfold.deepmoji.predict:predict",
            ),
        ),
    ),
    Group(
        "five",
        "a 5v5 team game, the self-play RL that learns it, and people playing against it",
        "Five (OpenAI et al. 2019): a small 5v5 lane-battle game as a fast multi-agent environment, self-play PPO\n"
        "with an opponent pool and team spirit, TrueSkill ratings, and games against people.",
        (
            Command(
                "train",
                "self-play PPO with an opponent pool, team spirit and a curriculum; resumable",
                "fourfold.five.train:train",
            ),
            Command(
                "eval",
                "win rate of a trained run (or any agent) against a bot or another run, with a 95 % interval",
                "fourfold.five.evaluate:evaluate",
            ),
            Command(
                "ladder",
                "TrueSkill and Elo of a run's checkpoints beside the scripted bots, with a plot",
                "fourfold.five.ladder:ladder",
            ),
            Command(
                "surgery",
                "widen a trained policy's core or add observation features without changing what it does",
                "fourfold.five.surgery:surgery",
            ),
            Command(
                "watch",
                "watch a game of bots or trained runs (or a replay file): video, replay and score card",
                "fourfold.five.watch:watch",
            ),
            Command(
                "bench",
                "game steps/s of the compiled core and the NumPy reference at 64 and 1024 games, memory per game",
                "fourfold.five.bench:bench",
            ),
            Command(
                "bots",
                "round robin of the scripted bots: win rates with 95 % intervals",
                "fourfold.five.tournament:bots",
            ),
        ),
    ),
)

COMMANDS: tuple[Command, ...] = (
    Command("demo", "run every system's demo step and write runs/demo/report.html", "fourfold.demo:run_demo"),
    Command(
        "bench",
        "run benchmarks/ beside their named peers and rewrite BENCHMARKS.md",
        "fourfold.bench:run_benchmarks",
    ),
)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line on `argv` (default `sys.argv[1:]`) and return the exit status."""
    args = list(sys.argv[1:] if argv is None else argv)
    if not args or args[0] in ("-h", "--help"):
        print(top_help())
        return 0 if args else 2
    if args[0] == "--version":
        print(f"fourfold {__version__}")
        return 0
    head, rest = args[0], args[1:]
    for command in COMMANDS:
        if command.name == head:
            return run_command(command, f"fourfold {head}", rest)
    for group in GROUPS:
        if group.name == head:
            return _run_group(group, rest)
    names = [g.name for g in GROUPS] + [c.name for c in COMMANDS]
    return _usage_error(f"unknown command 'fourfold {head}'{_suggest(head, names)}; see fourfold --help")


def _run_group(group: Group, args: list[str]) -> int:
    if not args or args[0] in ("-h", "--help"):
        print(group_help(group))
        return 0 if args else 2
    for command in group.commands:
        if command.name == args[0]:
            return run_command(command, f"fourfold {group.name} {command.name}", args[1:])
    names = [c.name for c in group.commands]
    hint = _suggest(args[0], names)
    return _usage_error(f"unknown command 'fourfold {group.name} {args[0]}'{hint}; see fourfold {group.name} --help")


def run_command(command: Command, prog: str, args: list[str]) -> int:
    """Parse `args` into the command's config, run it, print its summary; FourfoldError becomes one line."""
    json_output = "--json" in args
    args = [a for a in args if a != "--json"]
    function = resolve(command.target)
    config_type = typing.get_type_hints(function)["config"]
    description = f"{prog}: {command.summary}.\n\nAdd --json to print the result as one JSON object on stdout."
    try:
        import tyro

        config = tyro.cli(config_type, prog=prog, description=description, args=args)
        result = function(config)
    except FourfoldError as error:
        print(f"error: {_describe(error)}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    if json_output:
        print(json.dumps(to_jsonable(result)))
    else:
        print_summary(result)
    return 0


def resolve(target: str) -> Callable[..., Any]:
    """Import "module:function" and return the function."""
    module_name, _, function_name = target.partition(":")
    function: Callable[..., Any] = getattr(importlib.import_module(module_name), function_name)
    return function


def print_summary(result: object) -> None:
    """Print a command's summary for a person: its own `__str__` when it defines one, else `field: value` lines
    with lists of records as tables. Values are printed literally (no rich markup)."""
    if result is None:
        return
    if type(result).__str__ is not object.__str__ or not is_dataclass(result) or isinstance(result, type):
        text = str(result)
        if text:
            print(text)
        return
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    console = Console(highlight=False)
    if not console.is_terminal:  # a pipe or a file: no width to respect, so do not cut table cells
        console = Console(highlight=False, width=200)
    for spec in fields(result):
        value = to_jsonable(getattr(result, spec.name))
        if isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
            table = Table(title=spec.name, title_justify="left")
            columns = list(value[0])
            for column in columns:
                table.add_column(column, overflow="fold")
            for record in value:
                table.add_row(*(Text(str(record.get(column, ""))) for column in columns))
            console.print(table)
        else:
            shown = value if isinstance(value, str | int | float) else json.dumps(value)
            console.print(Text(f"{spec.name}: {shown}"), soft_wrap=True)


def top_help() -> str:
    """The text of `fourfold --help`."""
    width = max(len(n) for n in [g.name for g in GROUPS] + [c.name for c in COMMANDS]) + 3
    lines = [
        f"fourfold {__version__}: the four early OpenAI projects (GPT, Gym, DeepMoji, Five) as usable software.",
        "",
        "usage: fourfold <group> <command> [flags]",
        "       fourfold <command> [flags]",
        "",
        "groups (one per system; `fourfold <group> --help` lists its commands):",
        *(f"  {g.name:<{width}}{g.summary}" for g in GROUPS),
        "",
        "commands:",
        *(f"  {c.name:<{width}}{c.summary}" for c in COMMANDS),
        "",
        "Every command explains its flags with --help. Commands that report figures take --json and then print one",
        "JSON object on stdout. Data sets are looked for in the path you give, then $FOURFOLD_DATA, then",
        "~/.cache/fourfold, then downloaded from their public home when online.",
    ]
    return "\n".join(lines)


def group_help(group: Group) -> str:
    """The text of `fourfold <group> --help`."""
    lines = [f"fourfold {group.name}: {group.summary}.", "", group.description, ""]
    if group.commands:
        width = max(len(c.name) for c in group.commands) + 3
        lines += [
            f"usage: fourfold {group.name} <command> [flags]",
            "",
            "commands:",
            *(f"  {c.name:<{width}}{c.summary}" for c in group.commands),
            "",
            f"`fourfold {group.name} <command> --help` explains a command's flags.",
        ]
    else:
        lines.append(f"No commands yet: the {group.name} system is not built in fourfold {__version__}.")
    return "\n".join(lines)


def _describe(error: FourfoldError) -> str:
    """One line for an error; a config field is named as the flag that sets it (`--learning-rate`)."""
    if isinstance(error, ConfigError) and error.field and not error.source:
        flag = "--" + error.field.replace("_", "-")
        return f"{flag}: {error.message}"
    return str(error)


def _suggest(word: str, names: list[str]) -> str:
    close = difflib.get_close_matches(word, names, n=1)
    return f" (did you mean '{close[0]}'?)" if close else ""


def _usage_error(message: str) -> int:
    print(f"error: {message}", file=sys.stderr)
    return 2
