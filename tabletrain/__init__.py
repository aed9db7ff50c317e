"""The plumbing the table trainers (w2v/ and glove/) share; they never import each other.

- :mod:`tabletrain.config`: the enums of their configs, the config <-> JSON round trip and value checks;
- :mod:`tabletrain.engine`: which device and backend to train on (one meaning of ``auto``);
- :mod:`tabletrain.pool`: worker threads with progress and the first error re-raised in the caller;
- :mod:`tabletrain.report`: the report keys of a trained table's ``meta``;
- :mod:`tabletrain.files`: per-epoch checkpoints and the export of trained matrices as a table's rows.

(word2vec's learning-rate decay, ``w2v.kernels.linear_decay``, stays beside the kernel that inlines it:
numba's cache of a kernel only notices edits to the kernel's own file, and GloVe's AdaGrad does not decay.)
"""
