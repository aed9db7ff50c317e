"""The options the commands share, made from one source each: the corpus options of prepare and pretrain, a
GPT option from its :class:`gpt.config.GPTConfig` field (flag, default, help), ``--jobs`` and
``--threads-per-run`` for every study, ``--budgets`` for the sweep."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import click

from base.errors import InputError
from base.layout import RunLayout
from base.limits import DEFAULT_DIM
from base.parse import comma_choices, comma_list
from corpus.fraction import check_fraction
from corpus.prepare import PrepareConfig, ensure_prepared
from corpus.prepared import PreparedCorpus
from corpus.sources import resolve_sources
from gpt.config import AUTO_PRECISION, POSITIONS, PRECISIONS, GPTConfig, resolve_precision
from pipelines.common import COUNT, POSITIVE, SEED, TokenCount, resolve_device, show_progress
from study.scheduler import AUTO
from study.settings import StudySettings, TableSettings, given
from study.sources import RUN_TABLE_SOURCES
from study.stats import DEFAULT_MARGIN
from study.sweep import DEFAULT_BUDGETS
from study.table_configs import METHODS

_TYPES = {"tokens": TokenCount(), "seed": SEED, "table_seed": SEED,
          "position": click.Choice(POSITIONS), "table_data": click.Choice(RUN_TABLE_SOURCES),
          "precision": click.Choice((AUTO_PRECISION, *PRECISIONS))}
_DEFAULTS = {"precision": AUTO_PRECISION}  # train_gpt's default where it is not the field's
_METAVARS = {"embedding": "learned|init:TABLE|frozen:TABLE"}
_HELP = {"table_data": "Text a run table was pretrained on: run (the whole train split: embeddings/), fraction "
                       "(this run's --fraction of it, the same documents: embeddings/frac<F>/), table-corpus (the "
                       "corpus in <run>/table-corpus/).",
         "precision": "Matrix products in fp32 or bf16 (fp32 master weights and optimizer state; norms, softmax "
                      "and the loss in fp32); auto: the one measured faster end to end on the device (bf16 on "
                      "CUDA and on a CPU with AVX512-BF16 but no AMX, such as AMD EPYC; fp32 on other CPUs). The "
                      "same for every arm of a study; summaries name it."}
# what a study sets itself: the arm's embedding and position, the seed, the budget, and d_model (--dim); and
# the data-size settings, which compare's and sweep's summaries do not record (the data sweep sets them)
STUDY_SETS = ("embedding", "table", "table_seed", "rescale", "project", "position", "seed", "tokens", "d_model",
              "fraction", "keep_best", "table_data")


def _field_option(field: dataclasses.Field, study: bool):
    """The click option of one GPTConfig field: train_gpt's (default: the field's) or a study's (default:
    unset, so the GPT's default applies)."""
    flag, help_text = field.metadata["flag"], _HELP.get(field.name, field.metadata["help"])
    if field.name == "embedding":
        help_text = ("Token embedding: learned from scratch, initialized from TABLE, or TABLE frozen. TABLE is "
                     "a method of the run (cbow, skipgram, glove) or a vector file (word2vec text/binary, GloVe).")
    default = _DEFAULTS.get(field.name, field.default)
    kwargs = {"default": None if study else default, "show_default": not study,
              "help": help_text + (f" [GPT default: {default}]" if study else "")}
    if isinstance(field.default, bool):
        return click.option(flag, field.name, **kwargs)
    kind = _TYPES.get(field.name) or (COUNT if field.type in ("int", int) else
                                      float if field.type in ("float", float) else None)
    return click.option(flag, field.name, type=kind, metavar=_METAVARS.get(field.name), **kwargs)


def gpt_options(func=None, *, study: bool = False):
    """Every GPTConfig field as an option (train_gpt); with ``study`` the fields a study leaves to the user,
    unset by default. The command receives them by field name (``n_layer=...``)."""
    if func is None:
        return lambda f: gpt_options(f, study=study)
    for field in reversed(dataclasses.fields(GPTConfig)):
        if field.name == "table" or (study and field.name in STUDY_SETS):
            continue  # the table is given with --embedding MODE:TABLE
        func = _field_option(field, study)(func)
    return func


class Jobs(click.ParamType):
    """``--jobs``: a count of at least 1, or ``auto``."""

    name = "N|auto"

    def convert(self, value, param, ctx):
        if isinstance(value, int) or str(value).strip().lower() == AUTO:
            return value if isinstance(value, int) else AUTO
        try:
            number = int(str(value).strip())
        except ValueError:
            self.fail(f"{value!r} is neither a count nor 'auto'", param, ctx)
        if number < 1:
            self.fail(f"{value!r} must be at least 1 (or 'auto')", param, ctx)
        return number


jobs_option = click.option(
    "--jobs", type=Jobs(), default=1, show_default=True,
    help="Runs trained at once, each in a worker process with its share of the CPU threads (on CUDA, sharing "
         "the device). Results do not depend on it at a fixed --threads-per-run. auto: the --jobs that make "
         "bench measured fastest on this machine, else 2 on a CPU with 2 or more cores and 1 on CUDA.")
threads_option = click.option(
    "--threads-per-run", type=click.IntRange(min=1), default=None,
    help="Torch threads of each run [the available cores / --jobs]; a run is bit-reproducible at a fixed value.")


def parse_budgets(value: str) -> list[int]:
    """``"50k,200k,1M"`` -> sorted distinct token counts; InputError for anything else."""
    counts = TokenCount()
    budgets = []
    for part in comma_list(value, "--budgets", f"token counts (e.g. {DEFAULT_BUDGETS})"):
        try:
            budgets.append(counts.convert(part, None, None))
        except click.BadParameter as exc:
            raise InputError(f"--budgets: {exc.message}") from None
    return sorted(set(budgets))


def parse_fractions(value: str, flag: str = "--fractions") -> list[float]:
    """``"1/16,1/8,0.5,1"`` -> sorted distinct fractions in (0, 1]; InputError for anything else."""
    from fractions import Fraction

    fractions = []
    for part in comma_list(value, flag, "fractions of the train split (e.g. 1/16,1/4,1)"):
        try:
            number = Fraction(part)
        except (ValueError, ZeroDivisionError):
            raise InputError(f"{flag}: {part!r} is not a number (write 1/8 or 0.125)") from None
        try:
            fractions.append(check_fraction(float(number)))
        except InputError:
            raise InputError(f"{flag}: {part} is not a fraction in (0, 1] of the train split") from None
    return sorted(set(fractions))


def parse_methods(value: str) -> list[str]:
    """``"cbow,glove"`` -> the named table methods, each once; InputError naming the known ones."""
    return comma_choices(value, "--methods", METHODS, "methods")


plan_option = click.option(
    "--plan", "plan_file", type=click.Path(dir_okay=False, path_type=Path), default=None,
    help="Write one self-contained train_gpt command per run still to train into this file (for a SLURM array, "
         "GNU parallel, ...) instead of training; rerun without --plan to summarize.")


def prepare_table_corpus(run_dir: Path, spec: str, sources: list, reading: dict, settings) -> PreparedCorpus:
    """Prepare (or reuse) the corpus of ``--table-corpus SPEC`` (its ``sources``, resolved by the caller
    before anything is written) in ``<run>/table-corpus/corpus`` with prepare's defaults but the ``reading``
    options (its own vocabulary); InputError when the run already holds a table corpus of other text or
    reading (unless the study's ``fresh``)."""
    from corpus.prepare import input_fingerprint
    from corpus.prepared import read_manifest

    fresh, progress = settings.fresh, settings.progress
    config = PrepareConfig(min_count=reading["min_count"], encoding_errors=reading["encoding_errors"],
                           documents=reading["documents"], format=reading["fmt"], text_field=reading["text_field"])
    config.validate()
    layout = RunLayout(run_dir).table_corpus
    out = layout.corpus
    if not fresh and layout.manifest.is_file():
        try:
            theirs = read_manifest(out).get("input_fingerprint")
        except InputError:
            theirs = None  # damaged: prepared anew below
        if theirs is not None and theirs != input_fingerprint(sources, config):
            raise InputError(f"{out} holds a table corpus prepared from other text (or read otherwise) than {spec}; "
                             "pass --fresh to replace it (its transfer runs then train again), or use another "
                             "--run-dir")
    prepared, built = ensure_prepared(sources, out, config, progress=progress)
    if built:
        click.echo(f"prepared the table corpus: {prepared.path} ({describe(prepared)})")
    return prepared


def corpus_reading_options(of: str = "") -> list:
    """How a corpus's text is read into documents and words: ``--min-count``, ``--encoding-errors``,
    ``--documents``, ``--format`` and ``--text-field``, for prepare's corpus or (``of``) another one."""
    suffix = f" ({of})" if of else ""
    return [
        click.option("--min-count", type=COUNT, default=5, show_default=True,
                     help="Drop words seen fewer times in the train split (they become <unk>)." + suffix),
        click.option("--encoding-errors", type=click.Choice(["strict", "replace"]), default="strict",
                     show_default=True,
                     help="strict: invalid UTF-8 is an error; replace: substitute U+FFFD." + suffix),
        click.option("--documents", type=click.Choice(["paragraphs", "lines"]), default="paragraphs",
                     show_default=True, help="What one document of a text file is (<|endoftext|> always "
                                             "ends one)." + suffix),
        click.option("--format", "fmt", type=click.Choice(["auto", "text", "jsonl", "text8"]), default="auto",
                     show_default=True, help="How to read local files; auto: .jsonl -> jsonl, text8[.zip] -> "
                                             "text8, else text." + suffix),
        click.option("--text-field", default="text", show_default=True,
                     help="JSONL field holding the text." + suffix),
    ]


READING_PARAMS = ("min_count", "encoding_errors", "documents", "fmt", "text_field")


def table_corpus_options(func):
    """``--table-corpus SRC`` with the options that read it (:func:`corpus_reading_options`)."""
    from pipelines.common import NonEmpty

    options = [click.option("--table-corpus", type=NonEmpty(), default=None, metavar="SRC",
                            help="The transfer arms' tables are pretrained on this corpus (as prepare's --corpus: a "
                                 "FILE, DIR or GLOB, 'default', 'tinystories', 'text8'), prepared once in "
                                 "<run>/table-corpus/ with its own vocabulary and aligned to the GPT's by word "
                                 "[the run's whole train split]."),
               *corpus_reading_options("of --table-corpus")]
    for option in reversed(options):
        func = option(func)
    return func


def resolve_table_corpus(spec: str, reading: dict, progress: bool) -> list:
    """The sources of ``--table-corpus SPEC`` read as ``reading`` says (:data:`READING_PARAMS`), resolved
    before anything is written."""
    return resolve_sources(spec, documents=reading["documents"], encoding_errors=reading["encoding_errors"],
                           fmt=reading["fmt"], text_field=reading["text_field"], progress=progress)


def prepare_options(func=None, *, seed_flag: str = "--seed"):
    """The options that decide a prepared corpus; ``pretrain`` takes them too.

    ``pretrain`` has a ``--seed`` of its own (the trainers'), so there the split seed is ``--split-seed``.
    """
    if func is None:
        return lambda f: prepare_options(f, seed_flag=seed_flag)
    options = [
        click.option("--corpus", "corpus_spec", default="default", show_default=True, metavar="SRC",
                     help="'default' (gensim's Wikipedia sample + Lee news), 'tinystories' or 'text8' "
                          "(downloaded once), or a FILE, DIR or GLOB of text or JSONL files (plain, .gz, "
                          ".bz2 or .xz)."),
        *corpus_reading_options(),
        click.option("--max-vocab", type=COUNT, default=None, help="At most this many entries, specials included."),
        click.option("--no-lowercase", is_flag=True, help="Keep case (default: lowercase everything)."),
        click.option("--val-fraction", type=float, default=0.01, show_default=True),
        click.option("--test-fraction", type=float, default=0.01, show_default=True),
        click.option("--cache-dir", type=click.Path(file_okay=False, path_type=Path), default=None,
                     help="Where downloaded corpora (tinystories, text8) are kept [~/.cache/w2v-gpt]."),
        click.option("--tokenizer", default="word", show_default=True, metavar="word|bpe|FILE.json",
                     help="Word-level tokens, BPE subwords trained on the train split, or a Hugging Face "
                          "tokenizers file (byte-level BPE, WordPiece, unigram) whose vocabulary the GPT uses, "
                          "ids preserved."),
        click.option("--eos-token", default=None, metavar="TOKEN",
                     help="The end-of-text token of a --tokenizer FILE.json [its first of <|endoftext|>, </s>, "
                          "<|end_of_text|>, <eos>, [SEP], <|eot_id|>]."),
        click.option("--vocab-size", type=COUNT, default=None, help="BPE vocabulary size (with --tokenizer bpe)."),
        click.option(seed_flag, "split_seed", type=SEED, default=0, show_default=True,
                     help="Seed of the document split."),
    ]
    for option in reversed(options):
        func = option(func)
    return func


def prepare_from_options(run_dir: Path, corpus_spec: str, min_count: int, max_vocab: int | None,
                         no_lowercase: bool, val_fraction: float, test_fraction: float,
                         encoding_errors: str, documents: str, fmt: str, text_field: str,
                         cache_dir: Path | None, tokenizer: str, vocab_size: int | None, split_seed: int,
                         eos_token: str | None = None, quiet: bool = False) -> tuple[PreparedCorpus, bool]:
    """Prepare (or reuse) ``<run_dir>/corpus`` from command-line option values."""
    file_fields = tokenizer_file_fields(tokenizer, eos_token)
    config = PrepareConfig(min_count=min_count, max_vocab=max_vocab,
                           lowercase=not no_lowercase and not file_fields,
                           val_fraction=val_fraction, test_fraction=test_fraction,
                           encoding_errors=encoding_errors, documents=documents, format=fmt,
                           text_field=text_field, tokenizer="file" if file_fields else tokenizer,
                           vocab_size=vocab_size, seed=split_seed, eos_token=eos_token, **file_fields)
    config.validate()
    sources = resolve_sources(corpus_spec, documents=documents, encoding_errors=encoding_errors, fmt=fmt,
                              text_field=text_field, cache_dir=cache_dir, progress=show_progress(quiet))
    return ensure_prepared(sources, RunLayout(run_dir).corpus, config, progress=show_progress(quiet))


def tokenizer_file_fields(tokenizer: str, eos_token: str | None) -> dict:
    """For ``--tokenizer FILE.json``: the file (resolved) and its sha256, after checking that it parses and
    has an end-of-text token; {} for ``word`` and ``bpe``."""
    from base.atomic import file_sha256
    from corpus.tokenizer_file import TokenizerFile

    if tokenizer in ("word", "bpe"):
        return {}
    path = Path(tokenizer).expanduser()
    TokenizerFile.load(path, eos_token)
    return {"tokenizer_file": str(path.resolve()), "tokenizer_sha256": file_sha256(path)}


def describe(prepared: PreparedCorpus) -> str:
    counts = prepared.manifest["counts"]
    tokens, docs = counts["tokens"], counts["documents"]
    return (f"vocab {counts['vocab_size']:,}; tokens train {tokens['train']:,} / val {tokens['val']:,} / "
            f"test {tokens['test']:,}; documents {docs['train']:,} / {docs['val']:,} / {docs['test']:,}")


def open_or_prepare(ctx: click.Context, run_dir: Path, prepare_args: dict, quiet: bool) -> PreparedCorpus:
    """Use the run's prepared corpus as it is unless a prepare option was given; else prepare it."""
    chosen = [name for name in prepare_args
             if ctx.get_parameter_source(name) != click.core.ParameterSource.DEFAULT]
    layout = RunLayout(run_dir)
    if not chosen and layout.manifest.exists():
        return PreparedCorpus.open(layout.corpus)
    prepared, built = prepare_from_options(run_dir, quiet=quiet, **prepare_args)
    if built:
        click.echo(f"prepared: {prepared.path} ({describe(prepared)})")
    return prepared


PREPARE_PARAMS = {"corpus_spec", "min_count", "max_vocab", "no_lowercase", "val_fraction", "test_fraction",
                  "encoding_errors", "documents", "fmt", "text_field", "cache_dir", "tokenizer", "vocab_size",
                  "split_seed", "eos_token"}  # the parameter names prepare_options adds


def study_options(func):
    """The options every study command shares (compare, sweep): seeds, the tables' dim and x_max, the GPT
    options a study leaves to the user, the device, --fresh, --jobs, --threads-per-run and --quiet."""
    from pipelines.common import device_option

    options = [
        click.option("--seeds", type=COUNT, default=3, show_default=True,
                     help="Seeds per arm, paired across arms; seed k uses tables pretrained with seed k."),
        click.option("--dim", type=COUNT, default=DEFAULT_DIM, show_default=True,
                     help="d_model, and the dim of tables pretrained here."),
        click.option("--x-max", type=float, default=None,
                     help="GloVe x_max of the tables: checked against the run's GloVe table, used when it is "
                          "pretrained here [10, which suits small corpora]."),
        gpt_options(study=True), device_option,
        click.option("--fresh", is_flag=True, help="Train every run of the study again, replacing finished runs "
                                                   "(also those made with other settings)."),
        jobs_option, threads_option,
        click.option("--margin", type=POSITIVE, default=DEFAULT_MARGIN,
                     show_default=True,
                     help="Equivalence margin in nats/token: a difference is 'equivalent' when two one-sided "
                          "tests (Holm-adjusted) rule out one as large as this; 0.02 is a 2% change in "
                          "perplexity."),
        click.option("--quiet", is_flag=True, help="No progress bars."),
    ]
    for option in reversed(options):
        func = option(func)
    return func


def table_file_options(func):
    """``--table-file NAME=PATH`` (repeatable), ``--table-width project|pca`` and ``--subword-rows
    combine|random``: vector files as arms."""
    from study.table_files import TABLE_WIDTHS
    from vectors.subword import SUBWORD_RULES

    options = [
        click.option("--table-file", "table_file", multiple=True, metavar="NAME=PATH",
                     help="A vector file as the arms NAME-init and NAME-frozen (word2vec text or binary, GloVe text, "
                          "fastText .vec; plain, .gz, .bz2 or .xz); repeatable. Read once, keeping the vocabulary's "
                          "rows, cached in <run>/table-files/."),
        click.option("--table-width", type=click.Choice(TABLE_WIDTHS), default=None,
                     help="How a file of another width than --dim reaches d_model: project (a learned projection) "
                          "or pca (its first --dim principal components) [it must be --dim wide]."),
        click.option("--subword-rows", type=click.Choice(SUBWORD_RULES), default="combine", show_default=True,
                     help="On a subword vocabulary: a token that is a whole word takes its word's row; every other "
                          "token a combination of the rows of the words it occurs in (combine), or its random "
                          "init (random)."),
    ]
    for option in reversed(options):
        func = option(func)
    return func


def parse_table_files(specs) -> tuple:
    """``NAME=PATH`` specs -> TableFile tuple; InputError for a malformed spec, a bad or repeated NAME, or a
    missing file."""
    from study.table_files import TableFile, check_name

    files = []
    for spec in specs:
        name, sep, path = str(spec).partition("=")
        if not sep or not path.strip():
            raise InputError(f"--table-file takes NAME=PATH, got {spec!r}")
        check_name(name)
        if name in [f.name for f in files]:
            raise InputError(f"--table-file {name} is given twice")
        if not Path(path).is_file():
            raise InputError(f"--table-file {name}: no such file {path}")
        files.append(TableFile(name, Path(path)))
    return tuple(files)


STUDY_OPTIONS = ("seeds", "dim", "x_max", "device", "fresh", "jobs", "threads_per_run", "margin", "quiet")


def study_settings(run_dir: Path, options: dict, **fields) -> StudySettings:
    """The study's settings from its command's options: the study options (:func:`study_options`) are taken
    out of ``options``; the rest are GPT options, which with the GPT ``fields`` the study sets itself make
    the base config (d_model from ``--dim``). Every value is checked before anything is written."""
    study = {name: options.pop(name) for name in STUDY_OPTIONS}
    files, width = parse_table_files(options.pop("table_file", ())), options.pop("table_width", None)
    subword = options.pop("subword_rows", "combine")
    device = resolve_device(study["device"])
    options["precision"] = resolve_precision(options.get("precision"), device)
    base = GPTConfig(d_model=study["dim"], **fields, **given(options))
    tables = TableSettings(x_max=study["x_max"], files=files, width=width, subword=subword)
    return StudySettings(run_dir=Path(run_dir), base=base, seeds=study["seeds"],
                         tables=tables, device=device,
                         jobs=study["jobs"], threads=study["threads_per_run"], margin=study["margin"],
                         fresh=study["fresh"], progress=show_progress(study["quiet"]), log=click.echo)
