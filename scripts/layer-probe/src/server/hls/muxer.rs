pub fn push() {}
