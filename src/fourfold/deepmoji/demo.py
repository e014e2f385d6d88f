"""DeepMoji's step of `fourfold demo`: a short emoji pretraining on the harvested set, the analyser on a few
sentences, and the TF-IDF floor on TweetEval's emotion task, in the report.

The pretraining set is the harvest (`fourfold.deepmoji.label.harvest`: TweetEval and GoEmotions texts that carried
one of DeepMoji's 64 emoji) joined with TweetEval's emoji task in DeepMoji's 64 classes (`fourfold.deepmoji.train`).
The harvest alone (about 3,600 training texts) is too small to move an early-stopped model off the class prior
within a demo's minute: every sentence then gets the same 😂 ❤ 😭; the joined set (about 65,000) teaches words such as
"lol" and "love" their emoji in one or two epochs. It needs `$FOURFOLD_DATA`; without it the step is skipped with
the data locator's sentence.
"""

from __future__ import annotations

from fourfold.core.demo import DemoContext
from fourfold.deepmoji.features import tfidf_floor
from fourfold.deepmoji.predict import PredictConfig, predict

SENTENCES = (
    "I love you so much, best day ever",
    "This is the worst, I hate waiting in the rain",
    "lol that was hilarious",
    "I miss you, feeling so alone tonight",
    "Thank you all for the birthday wishes!",
    "Are you kidding me right now?!",
)
PRETRAIN_DATASET = "harvest+tweeteval/emoji"
FLOOR_DATASET = "tweeteval/emotion"
PRESET = "tiny"
"""The network size: the small preset trains at a few hundred texts a second on two cores, minutes per epoch of the
joined set; the tiny one does an epoch in well under a minute. `fourfold deepmoji pretrain` defaults to small."""
PRETRAIN_SHARE = 0.7
"""Share of the step's remaining time given to pretraining (the rest: predictions and the floor, a few seconds)."""


def run_demo(context: DemoContext) -> None:
    """Pretrain a tiny DeepMoji on the harvested emoji set, analyse a few sentences, fit the TF-IDF floor."""
    from fourfold.deepmoji.train import PretrainConfig, pretrain  # torch and the training loop load only here

    section = context.section
    # 1. Pretrain on emoji prediction within most of the budget (the best epoch's model is kept).
    run_dir = context.out_dir / "pretrained"
    summary = pretrain(
        PretrainConfig(
            dataset=PRETRAIN_DATASET,
            out=run_dir,
            preset=PRESET,
            max_epochs=3,
            time_budget_seconds=max(10.0, PRETRAIN_SHARE * context.time_left()),
            seed=context.seed,
            threads=1,  # the tiny network's matrices are too small to gain from more; on a busy machine they stall
            overwrite=True,
            progress=False,
        )
    )
    section.text(
        f"DeepMoji's network ({PRESET} preset, {summary.parameters:,} parameters, {summary.vocab_size:,} words) "
        f"pretrained on {summary.train_examples:,} emoji-labelled texts: those harvested from TweetEval and "
        f"GoEmotions joined with TweetEval's emoji task, in DeepMoji's {summary.classes} emoji classes (the test "
        f"split mixes both, so these are not TweetEval figures): {summary.epochs} epochs ({summary.stopped}), "
        f"{summary.texts_per_second:,.0f} texts/s, {summary.seconds:.0f} s."
    )
    section.table(
        ["split", "top-1 accuracy", "top-5 accuracy", "macro-F1"],
        [
            [name, metrics.accuracy, metrics.top5_accuracy, metrics.macro_f1]
            for name, metrics in (("validation", summary.val), ("test", summary.test))
        ],
    )

    # 2. The analyser on a few sentences: top emoji and the words that drove the first.
    result = predict(PredictConfig(texts=SENTENCES, model=run_dir, top_k=5))
    rows = []
    for prediction in result.predictions:
        emoji = "  ".join(f"{score.label} {score.probability:.2f}" for score in prediction.emoji)
        strongest = sorted(prediction.emoji_words, key=lambda word: -word.drop)[:2]
        drivers = ", ".join(f"{word.word} ({word.drop:+.2f})" for word in strongest)
        rows.append([prediction.text, emoji, drivers])
    section.table(["text", "top 5 emoji (probability)", "words behind the top emoji (probability drop)"], rows)
    section.text(
        "A word's drop is how much the top emoji's probability falls when the word is left out "
        "(`fourfold deepmoji predict TEXT` also shows the attention weight of every word)."
    )

    # 3. The floor any learned model must beat on an emotion task.
    from fourfold.deepmoji.data import load_dataset

    floor = tfidf_floor(load_dataset(FLOOR_DATASET), seed=context.seed)
    section.table(
        [f"TF-IDF + logistic regression on {FLOOR_DATASET}", "value"],
        [
            ["test macro-F1", floor.test_macro_f1],
            ["test accuracy", floor.test_accuracy],
            ["features (word 1-2 grams + char 2-5 grams)", floor.features],
        ],
    )
