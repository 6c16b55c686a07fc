DROP TABLE workshop_solves;
