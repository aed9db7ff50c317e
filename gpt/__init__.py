"""A small GPT with swappable token and position embeddings: model, trainer, sampler.

``config`` (GPTConfig: every default), ``positions`` (learned, sinusoidal, rope, alibi, none), ``embedding``
(learned / init / frozen token embeddings, table lookup and alignment), ``model`` (the transformer), ``loss``
(the chunked output-head cross-entropy), ``data`` (batches and evaluation windows), ``checkpoint``,
``train`` (the training run and its files), ``runs`` (a run's files and record), ``sample`` (text generation).
"""
