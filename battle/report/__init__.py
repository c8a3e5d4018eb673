"""Reports read by people: the run report (`html.write_run_report`) and the morning report
(`morning.write_morning_report`). Both read artifacts only and survive missing or damaged ones."""
