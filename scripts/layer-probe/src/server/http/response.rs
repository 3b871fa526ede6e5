pub fn chunk() {}
