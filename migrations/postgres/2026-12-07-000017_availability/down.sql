DROP TABLE maintenance_windows;
DROP TABLE availability_samples;
