pub struct Waker;

#[cfg(test)]
#[allow(unused)]
mod tests {
    use crate::server::net::socket::write;
}
