"""``make bench``: every stage of the project timed beside a peer measured in the same run.

The top floor: it may import every project package (base, corpus, vectors, tabletrain, w2v, glove, gpt,
study) and none of them imports it. Modules: ``text`` (the bench text, its prepared corpus and the train
split as words for the peers), ``quality`` (the three scores every table gets), ``prepare`` (prepare's
speed and memory), ``word2vec`` (CBOW and skip-gram against gensim), ``glove`` (our counting), ``stanford``
(Stanford GloVe's programs), ``analogies`` (analogy evaluation against gensim's), ``gpt`` (training speed
against transformers' GPT-2), ``study`` (a study's throughput at each ``--jobs``) and ``run`` (all of them
into one table and ``bench.json``). The command is ``python -m pipelines.bench``.
"""
