//! A built-in Atlas Administration API simulator: the real paths, versions, auth schemes and error bodies.
