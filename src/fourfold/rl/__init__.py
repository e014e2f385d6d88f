"""RL: PPO, DQN and SAC on Gymnasium tasks, with fourfold's batched suite as the fast path.

One file per algorithm with an explicit loop (`ppo`, `dqn`, `sac`, as CleanRL writes them); the shared pieces in
their own small files: `envs` (same-step autoreset, final observations for time-limit bootstrapping), `advantages`
(GAE), `rollout` (PPO's storage), `replay` (the replay buffer, n-step), `networks`, `normalize`, `presets` (tuned
hyperparameters per task), `checkpoints` (exact resume), `policy` (a trained agent as a callable), `evaluate`.
Nothing here is imported by `import fourfold`; torch loads when a command needs it.
"""
