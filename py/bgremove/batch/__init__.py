"""Many images at once under CPython, with the same pipeline as the browser.

sources.py finds the images and where each result goes; work.py cuts one out in a worker process
(its model session made once); outputs.py writes a result so that a file is whole or absent;
local.py runs the jobs on this machine's cores; report.py says what happened to each file.
"""
