from corpus.tokenize import detokenize, tokenize


def test_words_numbers_and_punctuation_are_separate_tokens():
    text = 'The cat\'s toy cost $4.50, didn\'t it? "Yes" -- (well-known) 1,000 times.'
    assert tokenize(text) == [
        "the", "cat's", "toy", "cost", "$", "4.50", ",", "didn't", "it", "?", '"', "yes", '"', "-", "-",
        "(", "well", "-", "known", ")", "1,000", "times", ".",
    ]


def test_lowercase_is_optional():
    assert tokenize("Hello World", lowercase=False) == ["Hello", "World"]
    assert tokenize("Hello World") == ["hello", "world"]


def test_unicode_letters_and_symbols():
    assert tokenize("Café naïve — Ωmega 3D") == ["café", "naïve", "—", "ωmega", "3", "d"]


def test_deterministic():
    # Worked by hand: words lowercased, every punctuation mark its own token, a number whole; the same text
    # gives the same tokens again, whatever was tokenized in between (no state is carried between calls).
    text = "A sentence. Another one, with 12 words!"
    expected = ["a", "sentence", ".", "another", "one", ",", "with", "12", "words", "!"]
    assert tokenize(text) == expected
    assert tokenize("Other TEXT: 3.5%, (x)!", lowercase=False) == ["Other", "TEXT", ":", "3.5", "%", ",", "(",
                                                                    "x", ")", "!"]
    assert tokenize(text) == expected


def test_detokenize_reads_like_the_original():
    text = 'He said "no (really)," and left at 4:00. It\'s 10% well-known: and/or $5.'
    assert detokenize(tokenize(text, lowercase=False)) == text


def test_detokenize_eos_starts_a_paragraph():
    assert detokenize(["one", ".", "<eos>", "two", "."]) == "one.\n\ntwo."
