"""Plumbing shared by two systems or more: config, checkpoint, runlog, progress, seeding, device, data, schedules,
nn, report. Nothing here knows about GPT, Gym, DeepMoji or Five; import the modules directly
(`from fourfold.core.checkpoint import save_checkpoint`)."""
