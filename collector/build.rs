//! Rebuilds the collector when a migration is added: `sqlx::migrate!` embeds the migration
//! files at compile time but does not tell cargo to watch their folder.

fn main() {
    println!("cargo:rerun-if-changed=migrations");
}
