"""`python -m benchmarks run [--size N] [--workers W] [--skip-peer] [--out DIR]`,
`python -m benchmarks verify [--captures N]` (how fast `presswatch verify` runs),
`python -m benchmarks stories [--scales 1,5,20] [--versions 2000,5000,20000]` (story
clustering: precision and recall on the labelled corpus, cost per version, bytes),
`python -m benchmarks verify-package [--captures N]` (the package verifier, genuine and
hostile packages), `python -m benchmarks diff [--sizes-kb 10,100,1000]` (diff time
against text size and repetition), `python -m benchmarks cli [--rounds N]` (how fast
the command line starts), `python -m benchmarks render [--size N] [--workers W]` (a
crawl with and without rendering in the browser: pages/s and peak memory), `python
-m benchmarks faults [--size N] [--processes K]` (services and helper processes failing
under K crawls at once), and `python -m benchmarks images [--pictures N]`
(perceptual-hash distances of re-encoded and of different pictures: the
images_changed threshold).

The one documented benchmark command (docs/benchmarks.md); the other modules of the
package (`archive_bench`, `search_bench`, ...) keep their own `python -m
benchmarks.NAME` entry points.
"""

from __future__ import annotations

import sys


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if args and args[0] == "verify":
        from benchmarks.verify_bench import main as verify_main

        return verify_main(args[1:])
    if args and args[0] == "verify-package":
        from benchmarks.package_bench import main as package_main

        return package_main(args[1:])
    if args and args[0] == "diff":
        from benchmarks.diff_bench import main as diff_main

        return diff_main(args[1:])
    if args and args[0] == "faults":
        from benchmarks.faults_bench import main as faults_main

        return faults_main(args[1:])
    if args and args[0] == "stories":
        from benchmarks.stories_bench import main as stories_main

        return stories_main(args[1:])
    if args and args[0] == "images":
        from benchmarks.image_distances import main as images_main

        return images_main(args[1:])

    if args and args[0] == "render":
        from benchmarks.render_bench import main as render_main

        return render_main(args[1:])
    if args and args[0] == "load":
        from benchmarks.load_bench import main as load_main

        return load_main(args[1:])
    if args and args[0] == "crawl-memory":
        from benchmarks.crawl_memory_bench import main as crawl_memory_main

        return crawl_memory_main(args[1:])
    if args and args[0] == "cli":
        from benchmarks.cli_bench import main as cli_main

        return cli_main(args[1:])
    if not args or args[0] != "run":
        print(
            "usage: python -m benchmarks run [--size N] [--workers W] [--skip-peer] "
            "[--out DIR]   (python -m benchmarks run --help for all options)\n"
            "       python -m benchmarks verify [--captures N] [--articles A]\n"
            "       python -m benchmarks verify-package [--captures N]\n"
            "       python -m benchmarks diff [--sizes-kb 10,30,100,300,1000] [--rounds R]\n"
            "       python -m benchmarks cli [--rounds R]\n"
            "       python -m benchmarks crawl-memory [--known N] [--new M] [--due D]\n"
            "       python -m benchmarks render [--size N] [--workers W]\n"
            "       python -m benchmarks images [--pictures N]\n"
            "       python -m benchmarks load [--versions N] [--clients C] [--seconds S]\n"
            "       python -m benchmarks faults [--size N] [--processes K] [--only F,...]\n"
            "       python -m benchmarks stories [--scales 1,5,20] [--versions 2000,5000,20000]",
            file=sys.stderr,
        )
        return 2
    from benchmarks.run import main as run_main

    return run_main(args[1:])


if __name__ == "__main__":
    sys.exit(main())
