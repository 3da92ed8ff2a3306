"""What a job hands the code its tasks run: joins the resolved bundle to the Python analysis."""
