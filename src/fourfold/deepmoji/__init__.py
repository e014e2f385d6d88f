"""DeepMoji (Felbo et al. 2017, "Using millions of emoji occurrences to learn any-domain representations for
detecting sentiment, emotion and sarcasm"): emoji as free labels, the DeepMoji network, chain-thaw transfer, and an
emotion analyser.

Modules: `emojis` (the 64 emoji in class order), `tokenizer` (DeepMoji's tokenizer and vocabulary), `data`
(loaders for TweetEval, DeepMoji pickles, GoEmotions, CSV/JSONL), `label` (distant supervision), `config`,
`model` (the network), `batching` (length-bucketed batches for inference and training). Nothing here is
imported by `import fourfold`.
"""
