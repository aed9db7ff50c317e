"""The largest values a user may ask for, checked where an option is read so a typo fails at once; and the
one default every layer shares."""

MAX_SEED = 2**32 - 1  # every random generator the project seeds (numpy, torch, numba kernels) takes this range
MAX_TOKENS = 10**12  # a GPT budget above this trains for years on any one machine
DEFAULT_DIM = 128  # the width of every table and the GPT's d_model (make's DIM), unless given
