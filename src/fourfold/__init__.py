"""fourfold: the four early OpenAI projects as usable software.

GPT (Radford et al. 2018, 2019), Gym (Brockman et al. 2016), DeepMoji (Felbo et al. 2017) and Five
(OpenAI et al. 2019) in one package with one command line (`fourfold --help`). Importing this package is cheap: no
system and no torch is imported until a command needs it.
"""

__version__ = "0.1.0"
