//! ASVS 5.0 V13 (configuration): the admin plane stays off the public listener.
