module pullcheck.local/programs

go 1.26
