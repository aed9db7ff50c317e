"""``python -m pipelines.sample``: continue a prompt with a trained GPT variant and print the text."""

from __future__ import annotations

from pathlib import Path

import click

from pipelines.common import COUNT, SEED, device_option, handle_errors, main_entry, resolve_device, run_dir_option


@click.command()
@run_dir_option
@click.option("--variant", default="learned", show_default=True, help="Which trained variant (gpt/<variant>/).")
@click.option("--prompt", required=True, help="Text to continue ('' starts a new document).")
@click.option("--tokens", type=click.IntRange(min=0), default=50, show_default=True, help="Tokens to generate.")
@click.option("--temperature", type=click.FloatRange(min=0.0), default=0.8, show_default=True,
              help="Softmax temperature; 0 takes the most likely token.")
@click.option("--top-k", type=click.IntRange(min=0), default=40, show_default=True,
              help="Sample among the k most likely tokens (0: all).")
@click.option("--seed", type=SEED, default=0, show_default=True, help="Seed of the sampling.")
@click.option("--train-seed", type=SEED, default=None, help="Which trained seed of the variant [the lowest].")
@click.option("--context", type=COUNT, default=None, help="Tokens the model sees [its training context].")
@click.option("--allow-unk", is_flag=True, help="Let the model produce <unk>.")
@device_option
@handle_errors
def cli(run_dir: Path, variant: str, prompt: str, tokens: int, temperature: float, top_k: int, seed: int,
        train_seed: int | None, context: int | None, allow_unk: bool, device: str) -> None:
    """Print the prompt followed by a sampled continuation."""
    from gpt.sample import sample_text

    text = sample_text(run_dir, variant, prompt, n_tokens=tokens, temperature=temperature, top_k=top_k,
                       seed=seed, train_seed=train_seed, context=context, device=resolve_device(device),
                       allow_unk=allow_unk, warn=lambda message: click.echo(message, err=True))
    click.echo(text)


if __name__ == "__main__":
    main_entry(cli)
