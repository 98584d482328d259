"""Rosters from the school's student information system: OneRoster 1.2 CSV bulk and delta file sets.

`spec` holds the columns the specification defines, `reader` opens the ZIP without trusting it and reads each
CSV, `bundle` checks the references between the files and says, row by row and in words, what will be skipped.
Nothing here writes to the database: the import plan is built from a `RosterSet`.
"""
