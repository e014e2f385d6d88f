"""Five's game: the rules of a small 5v5 lane-pushing team game, as a batched, seeded, compiled simulation.

Modules: `constants` (slots, kinds, actions, events), `stats` (balance tables), `maps` (the map layouts), `config`
(`GameConfig`), `state` (`GameState`, the batch as arrays), `rules` with `combat`, `abilities`, `orders`, `spawn`
and `fog` (the rules, one source run interpreted or compiled), `core` (`step`, `step_reference`, `reset`,
`validate_actions`), `jit` (numba caching keyed on all rule sources), `scenario` (random mid-game positions and
random valid actions for tests and benchmarks). The rules are described in docs/five.md.
Importing this package imports nothing else (numba is imported with `core` and the rule modules).
"""
