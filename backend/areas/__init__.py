"""Areas: uploaded sources, published versions, layers and mapped features."""
