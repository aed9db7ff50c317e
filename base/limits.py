"""The largest values a user may ask for, checked where an option is read so a typo fails at once."""

MAX_SEED = 2**32 - 1  # every random generator the project seeds (numpy, torch, numba kernels) takes this range
MAX_TOKENS = 10**12  # a GPT budget above this trains for years on any one machine
