"""The self-contained demo: a local news site (`site`), its articles (`content`) and
the script that crawls it, changes it and shows what Presswatch detected (`run`)."""
